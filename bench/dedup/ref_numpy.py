#!/usr/bin/env python3
"""The way a practised Python user finds near-duplicates: float32, normalised, blocked a @ b.T
over the upper triangle, np.nonzero(sim >= t).   ref_numpy.py vectors.npy keys.json T OUT.json"""
import json
import sys

import numpy as np

X = np.load(sys.argv[1]).astype(np.float32)
keys = json.load(open(sys.argv[2]))
t = float(sys.argv[3])
X /= np.linalg.norm(X, axis=1, keepdims=True)
B = 4096
pairs = []
for i in range(0, len(X), B):
    sim = X[i : i + B] @ X[i:].T
    r, c = np.nonzero(sim >= t)
    keep = c > r
    for a, b, s in zip(r[keep] + i, c[keep] + i, sim[r[keep], c[keep]]):
        pairs.append([keys[a], keys[b], float(s)])
json.dump(sorted(pairs), open(sys.argv[4], "w"))
