module github.com/meshpipe/meshpipe

go 1.26.8

require (
	github.com/go-gl/gl v0.0.0-20231021071112-07e5d0ea2e71
	github.com/yalue/onnxruntime_go v1.27.0
	golang.org/x/sync v0.25.0
)

require github.com/go-gl/glfw/v3.3/glfw v0.0.0-20260823155953-d41da22a9587
