#!/usr/bin/env python3
"""Reference FID for tests/check_eval.c: NumPy means and covariances and SciPy's matrix
square root (scipy.linalg.sqrtm) on two feature files of raw little-endian float32
(n rows of d values each). Prints the FID with 17 significant digits.

usage: fid_ref.py A.f32 B.f32 D"""
import sys

import numpy as np
from scipy import linalg


def main():
    a_path, b_path, d = sys.argv[1], sys.argv[2], int(sys.argv[3])
    a = np.fromfile(a_path, dtype="<f4").astype(np.float64).reshape(-1, d)
    b = np.fromfile(b_path, dtype="<f4").astype(np.float64).reshape(-1, d)
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    fid = diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)
    print("%.17g" % fid)


if __name__ == "__main__":
    main()
