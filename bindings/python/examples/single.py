"""One image through a bundle's whole pipeline with the mdk binding.  usage: single.py BUNDLE IMAGE"""
import json
import sys

import mdk

with mdk.Model(sys.argv[1]) as model:
    print(json.dumps(model.predict_image(sys.argv[2])))
