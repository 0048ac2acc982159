//go:build !(linux && cgo)

package capture

// CameraDriver names the camera driver built in, or is "" when there is none (then
// noCameraDriver says why).
const CameraDriver = ""

const noCameraDriver = "mediadevices' V4L2 camera driver needs Linux and cgo; this build has neither or not both"
