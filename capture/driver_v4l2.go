//go:build linux && cgo

package capture

// CameraDriver names the camera driver built in, or is "" when there is none (then
// noCameraDriver says why).
const CameraDriver = "V4L2, pion/mediadevices' camera driver"

const noCameraDriver = ""
