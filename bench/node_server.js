// node_server.js: the Node.js peer of `mdk serve`: a minimal HTTP server on onnxruntime-node answering
// POST /v2/models/NAME/infer for one float32 input, in v2 JSON or with the binary tensor extension.
// usage: UV_THREADPOOL_SIZE=N node node_server.js MODEL PORT INTRA_THREADS
'use strict';
const http = require('http');
const ort = require('onnxruntime-node');

async function main() {
  const [model, port, intra] = process.argv.slice(2);
  const session = await ort.InferenceSession.create(model, {intraOpNumThreads: Number(intra), interOpNumThreads: 1,
    graphOptimizationLevel: 'all'});
  const inName = session.inputNames[0];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = Buffer.concat(chunks);
        const hl = req.headers['inference-header-content-length'];
        const jsonLen = hl === undefined ? body.length : Number(hl);
        const head = JSON.parse(body.toString('utf8', 0, jsonLen));
        const inp = head.inputs[0];
        let data;
        if (inp.parameters && inp.parameters.binary_data_size !== undefined) {
          const bin = body.subarray(jsonLen, jsonLen + inp.parameters.binary_data_size);
          data = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
        } else {
          data = Float32Array.from(inp.data.flat(Infinity));
        }
        const result = await session.run({[inName]: new ort.Tensor('float32', data, inp.shape)});
        const binaryOut = head.parameters && head.parameters.binary_data_output;
        const outputs = [];
        const blobs = [];
        for (const name of session.outputNames) {
          const t = result[name];
          const o = {name, datatype: 'FP32', shape: t.dims};
          if (binaryOut) {
            const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
            o.parameters = {binary_data_size: b.length};
            blobs.push(b);
          } else {
            o.data = Array.from(t.data);
          }
          outputs.push(o);
        }
        const json = Buffer.from(JSON.stringify({model_name: 'm', model_version: '1', outputs}));
        if (binaryOut) {
          res.writeHead(200, {'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': json.length});
          res.end(Buffer.concat([json, ...blobs]));
        } else {
          res.writeHead(200, {'Content-Type': 'application/json'});
          res.end(json);
        }
      } catch (e) {
        res.writeHead(400, {'Content-Type': 'application/json'});
        res.end(JSON.stringify({error: String(e.message || e)}));
      }
    });
  });
  server.keepAliveTimeout = 60000;
  server.listen(Number(port), '127.0.0.1', () => console.log(server.address().port));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
