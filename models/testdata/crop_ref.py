#!/usr/bin/python3
"""Reference crops for models/crop_test.go, made with OpenCV and numpy the way 4D-Humans' demo
makes them (hmr2/datasets/vitdet_dataset.py, generate_image_patch_cv2 in hmr2/datasets/utils.py),
independently of meshpipe's Go code:

  blur:  when d = side/256/2 > 1.1, a Gaussian of sigma (d-1)/2 over the whole frame, truncated at
         4 sigma, edges repeated (skimage.filters.gaussian's defaults, here cv2.sepFilter2D with the
         same kernel and BORDER_REPLICATE), in float64;
  warp:  cv2.getAffineTransform from the float32 points (centre, centre + (0, side/2),
         centre + (side/2, 0)) to (128,128), (128,256), (256,128); cv2.warpAffine, INTER_LINEAR,
         BORDER_CONSTANT 0, 256x256;
  then   RGB, channel-major, (x - 255*mean) / (255*std) with ImageNet's mean and std.

usage: crop_ref.py FRAME.rgb W H WINDOWS.json OUT.f32
  FRAME.rgb      rgb24 bytes, W*H*3
  WINDOWS.json   [[cx, cy, side], ...] in frame pixels
  OUT.f32        float32 little-endian, [N, 3, 256, 256]
"""
import json
import sys

import cv2
import numpy as np

MEAN = 255.0 * np.array([0.485, 0.456, 0.406])
STD = 255.0 * np.array([0.229, 0.224, 0.225])


def crop(img, cx, cy, side):
    cx, cy, side = np.float32(cx), np.float32(cy), np.float32(side)
    d = side * 1.0 / 256 / 2.0
    if d > 1.1:
        sigma = (d - 1) / 2
        r = int(4.0 * sigma + 0.5)
        x = np.arange(-r, r + 1, dtype=np.float64)
        k = np.exp(-0.5 / (sigma * sigma) * x * x)
        k /= k.sum()
        img = cv2.sepFilter2D(img.astype(np.float64), cv2.CV_64F, k, k, borderType=cv2.BORDER_REPLICATE)
    centre = np.array([cx, cy], dtype=np.float64)
    src = np.zeros((3, 2), np.float32)
    src[0] = centre
    src[1] = centre + np.array([0, side * 0.5], np.float32)
    src[2] = centre + np.array([side * 0.5, 0], np.float32)
    dst = np.array([[128, 128], [128, 256], [256, 128]], np.float32)
    m = cv2.getAffineTransform(src, dst)
    patch = cv2.warpAffine(img, m, (256, 256), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    patch = patch.astype(np.float32).transpose(2, 0, 1)
    for c in range(3):
        patch[c] = (patch[c] - MEAN[c]) / STD[c]
    return patch


def main():
    path, w, h, windows, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    img = np.fromfile(path, np.uint8).reshape(h, w, 3)
    with open(windows) as f:
        wins = json.load(f)
    crops = np.stack([crop(img, *win) for win in wins]).astype('<f4')
    crops.tofile(out)


if __name__ == "__main__":
    main()
