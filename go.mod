module github.com/meshpipe/meshpipe

go 1.26.8

require (
	codeberg.org/sbinet/npyio v0.14.0
	github.com/go-gl/gl v0.0.0-20231021071112-07e5d0ea2e71
	github.com/pion/mediadevices v0.9.4
	github.com/yalue/onnxruntime_go v1.27.0
	golang.org/x/image v0.25.0
	golang.org/x/sync v0.25.0
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	gonum.org/v1/gonum v0.17.0
)

require (
	github.com/blackjack/webcam v0.6.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/nlpodyssey/gopickle v0.3.0 // indirect
	go.temporal.io/sdk v1.51.0 // indirect
	golang.org/x/text v0.41.0 // indirect
	golang.org/x/tools v0.48.0 // indirect
)

require github.com/go-gl/glfw/v3.3/glfw v0.0.0-20260823155953-d41da22a9587
