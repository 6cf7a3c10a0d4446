#!/usr/bin/env python3
"""faiss-cpu exact search: IndexFlatIP over the normalised float32 vectors, range_search of every
vector against all.   ref_faiss.py vectors.npy keys.json T OUT.json"""
import json
import sys

import faiss
import numpy as np

X = np.load(sys.argv[1]).astype(np.float32)
keys = json.load(open(sys.argv[2]))
t = np.float32(sys.argv[3])
faiss.normalize_L2(X)
index = faiss.IndexFlatIP(X.shape[1])
index.add(X)
# range_search keeps inner products > radius: the float32 just below t keeps those >= t.
lims, D, I = index.range_search(X, float(np.nextafter(t, np.float32(-2))))
pairs = []
for q in range(len(X)):
    for s, j in zip(D[lims[q] : lims[q + 1]], I[lims[q] : lims[q + 1]]):
        if j > q:
            pairs.append([keys[q], keys[j], float(s)])
json.dump(sorted(pairs), open(sys.argv[4], "w"))
