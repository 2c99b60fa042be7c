#!/usr/bin/python3
"""Exports torchvision classifiers to ONNX with a fixed seed and records PyTorch's own outputs.

For each architecture it writes ARCH.onnx and ARCH/{inputs.npy,expected_outputs.npy}: the input is a real
photo (from python3-skimage's data folder) resized and normalised with NumPy, the expected output is what
PyTorch computes for it. Weights are random but seeded (no download is possible), which is all a numerical
comparison between runtimes needs.
"""
import os
import sys

import numpy as np
import torch
import torchvision
from skimage import data as skdata


def photo_batch():
    """Two real photos as a float32 NCHW batch, 224x224, ImageNet mean/std."""
    imgs = []
    for img in (skdata.astronaut(), skdata.chelsea()):
        t = torch.from_numpy(img).permute(2, 0, 1).float().unsqueeze(0) / 255.0
        t = torch.nn.functional.interpolate(t, size=(224, 224), mode="bilinear", align_corners=False)
        imgs.append(t)
    x = torch.cat(imgs)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def calibrate_batchnorm(model, x):
    """Sets BatchNorm running statistics from the photos, so that activations keep a realistic scale through
    the random network (with default statistics, mobilenet_v2's logits shrink to ~1e-11)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    x = photo_batch()
    for arch in ("resnet18", "mobilenet_v2"):
        torch.manual_seed(0)
        model = getattr(torchvision.models, arch)(weights=None)
        calibrate_batchnorm(model, x)
        path = os.path.join(out_dir, arch + ".onnx")
        torch.onnx.export(model, x[:1], path, input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
        with torch.no_grad():
            y = model(x).numpy()
        case = os.path.join(out_dir, arch)
        os.makedirs(case, exist_ok=True)
        np.save(os.path.join(case, "inputs.npy"), x.numpy())
        np.save(os.path.join(case, "expected_outputs.npy"), y)
        print(path)


if __name__ == "__main__":
    main(sys.argv[1])
