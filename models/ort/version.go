package ort

import (
	"fmt"
	"strconv"
	"strings"
)

// MinVersion is the oldest ONNX Runtime meshpipe runs with. onnxruntime_go v1.27.0 (its
// onnxruntime_c_api.h) asks the library for C API version 24 (ORT_API_VERSION), and ONNX
// Runtime 1.N serves the C API versions up to N, so 1.24 is the first that answers.
const MinVersion = "1.24.0"

// apiVersion is the ONNX Runtime C API version onnxruntime_go asks for (ORT_API_VERSION in
// its onnxruntime_c_api.h).
const apiVersion = 24

// versionAtLeast reports whether the version v ("1.29.0", "1.16.3-dev", "2.0") is at least
// min, comparing the dot-separated numbers in order (a missing number counts as 0; anything
// after a '-' or '+' is ignored). It returns an error when v or min is not such a version.
func versionAtLeast(v, min string) (bool, error) {
	a, err := parseVersion(v)
	if err != nil {
		return false, err
	}
	b, err := parseVersion(min)
	if err != nil {
		return false, err
	}
	for i := 0; i < max(len(a), len(b)); i++ {
		x, y := at(a, i), at(b, i)
		if x != y {
			return x > y, nil
		}
	}
	return true, nil
}

func at(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func parseVersion(v string) ([]int, error) {
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	if core == "" {
		return nil, fmt.Errorf("version %q: want numbers separated by dots, such as 1.29.0", v)
	}
	var nums []int
	for _, p := range strings.Split(core, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p[0] == '+' {
			return nil, fmt.Errorf("version %q: want numbers separated by dots, such as 1.29.0", v)
		}
		nums = append(nums, n)
	}
	return nums, nil
}
