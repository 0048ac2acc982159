#!/usr/bin/env node
// Runs a TensorFlow.js graph model with TF.js's own CPU backend, for checking the ONNX files that
// scripts/tfjs_to_onnx.py makes against the original:
//
//   node scripts/tfjs/run_graph_model.js MODEL.json INPUT.f32 B,H,W,C OUTDIR
//
// INPUT.f32 holds B*H*W*C little-endian float32 values (NHWC, the model's input). For every
// output of the model's signature, OUTDIR/<key>.f32 gets its values (little-endian float32, the
// output's own element order) and OUTDIR/shapes.json maps each key to its shape.
//
// The TF.js packages come from $MESHPIPE_NODE_MODULES, else <project>/.deps/node/node_modules
// (scripts/setup.sh installs the versions pinned in scripts/tfjs/package-lock.json there).
'use strict';

const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`run_graph_model: ${msg}\n`);
  process.exit(1);
}

const [modelPath, inputPath, shapeArg, outDir] = process.argv.slice(2);
if (!outDir) fail('usage: run_graph_model.js MODEL.json INPUT.f32 B,H,W,C OUTDIR');

const modules = process.env.MESHPIPE_NODE_MODULES || path.join(__dirname, '..', '..', '.deps', 'node', 'node_modules');
let tf, tfconv;
try {
  tf = require(path.join(modules, '@tensorflow', 'tfjs-core'));
  require(path.join(modules, '@tensorflow', 'tfjs-backend-cpu'));
  tfconv = require(path.join(modules, '@tensorflow', 'tfjs-converter'));
} catch (e) {
  fail(`TF.js not found under ${modules} (run scripts/setup.sh): ${e.message}`);
}

async function main() {
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const dir = path.dirname(modelPath);
  // The weights of every manifest group, in order, as one buffer (tf.io.fromMemory's layout).
  const specs = [];
  const parts = [];
  for (const group of model.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) parts.push(fs.readFileSync(path.join(dir, p)));
  }
  const all = Buffer.concat(parts);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const graph = await tfconv.loadGraphModel(tf.io.fromMemory({
    modelTopology: model.modelTopology, weightSpecs: specs, weightData,
    format: model.format, generatedBy: model.generatedBy, convertedBy: model.convertedBy,
    signature: model.signature,
  }));

  const shape = shapeArg.split(',').map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const raw = fs.readFileSync(inputPath);
  if (raw.length !== 4 * n) fail(`${inputPath}: ${raw.length} bytes, want ${4 * n} for shape [${shape}]`);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = raw.readFloatLE(4 * i);
  const input = tf.tensor(data, shape, 'float32');

  const outs = model.signature.outputs;
  const keys = Object.keys(outs).sort();
  const nodes = keys.map((k) => outs[k].name.split(':')[0]);
  let results = graph.execute(input, nodes);
  if (!Array.isArray(results)) results = [results];
  fs.mkdirSync(outDir, { recursive: true });
  const shapes = {};
  for (let i = 0; i < keys.length; i++) {
    const vals = results[i].dataSync();
    const buf = Buffer.alloc(4 * vals.length);
    for (let j = 0; j < vals.length; j++) buf.writeFloatLE(vals[j], 4 * j);
    fs.writeFileSync(path.join(outDir, `${keys[i]}.f32`), buf);
    shapes[keys[i]] = results[i].shape;
  }
  fs.writeFileSync(path.join(outDir, 'shapes.json'), JSON.stringify(shapes));
}

main().catch((e) => fail(e.stack || String(e)));
