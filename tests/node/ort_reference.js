// ort_reference.js: runs an ONNX model with onnxruntime-node on float32 .npy inputs and writes each output
// as .npy: the independent reference that mdk's outputs are compared with.
// usage: node ort_reference.js MODEL OUT_DIR NAME=IN.npy...
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not .npy');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header)) {
    throw new Error(file + ': only C-order float32 arrays are supported');
  }
  const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return new ort.Tensor('float32', data, shape);
}

function writeNpy(file, tensor) {
  if (tensor.type !== 'float32') throw new Error('only float32 outputs are supported');
  const dims = tensor.dims.length === 1 ? `${tensor.dims[0]},` : tensor.dims.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [model, outDir, ...feeds] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  const inputs = {};
  for (const f of feeds) {
    const eq = f.indexOf('=');
    inputs[f.slice(0, eq)] = readNpy(f.slice(eq + 1));
  }
  const results = await session.run(inputs);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, t] of Object.entries(results)) {
    writeNpy(path.join(outDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), t);
  }
}

main().catch((e) => {
  console.error('ort_reference: ' + e.message);
  process.exit(1);
});
