"""The classification preprocessing written the usual way with OpenCV and NumPy: the peer that
bench/preprocess_vs_opencv.py times `mdk preprocess` against.  usage: recipe_opencv.py IMAGE OUT.npy"""
import sys

import cv2
import numpy as np

img = cv2.imread(sys.argv[1])
img = cv2.resize(img, (224, 224), interpolation=cv2.INTER_LINEAR)
img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
img = (img - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
np.save(sys.argv[2], img.transpose(2, 0, 1)[None].astype(np.float32))
