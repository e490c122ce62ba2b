// Run nsfwjs's original models in pure-JS TensorFlow.js on the images that
// `python -m training.backbone_check write DIR` wrote; save what they output to DIR/tfjs.json.
// Not run by the tests. Set up once, outside the repository (no tfjs-node: it downloads a binary):
//
//   mkdir /tmp/tfjscheck && cd /tmp/tfjscheck && npm init -y
//   npm install @tensorflow/tfjs@4 <repo>/build/npm/nsfwjs-4.4.0.tgz
//   cp <repo>/training/backbone_check.mjs . && node backbone_check.mjs DIR
//
// then `python -m training.backbone_check compare DIR` in the repository.
import fs from "fs";
import path from "path";
import * as tf from "@tensorflow/tfjs";
import * as nsfwjs from "nsfwjs";

const MID_FEATURES =
  "StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/" +
  "StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze";
const MODELS = [
  { name: "mobilenet_v2", load: ["MobileNetV2"], size: 224, features: "flatten_1" },
  { name: "mobilenet_v2_mid", load: ["MobileNetV2Mid", { type: "graph" }], size: 224, node: MID_FEATURES },
  { name: "inception_v3", load: ["InceptionV3", { size: 299 }], size: 299, features: "flatten_1" },
];

const dir = process.argv[2];
const only = process.argv.slice(3);
const images = JSON.parse(fs.readFileSync(path.join(dir, "index.json"), "utf8"));
await tf.setBackend("cpu");
const results = { tfjs: tf.version.tfjs, backend: tf.getBackend(), models: {} };

function features(spec, model, pixels) {
  if (spec.features) return model.infer(pixels, spec.features);
  // A graph model has no layer endpoints: run its graph to the feature node instead.
  return tf.tidy(() => {
    const x = tf.image.resizeBilinear(pixels.toFloat().div(255), [spec.size, spec.size], true);
    return model.model.execute(x.reshape([1, spec.size, spec.size, 3]), spec.node);
  });
}

for (const spec of MODELS.filter((m) => only.length === 0 || only.includes(m.name))) {
  const model = await nsfwjs.load(...spec.load);
  const out = {};
  for (const image of images) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, image.file)));
    const pixels = tf.tensor3d(bytes, [image.height, image.width, 3], "int32");
    const probabilities = model.infer(pixels); // nsfwjs's own preprocessing (/255, resize)
    const feats = features(spec, model, pixels);
    out[image.file] = {
      probabilities: Array.from(await probabilities.data()),
      features: Array.from(await feats.data()),
    };
    tf.dispose([pixels, probabilities, feats]);
    console.log(spec.name, image.file, out[image.file].probabilities.map((p) => p.toFixed(4)).join(" "));
  }
  results.models[spec.name] = out; // no model.dispose(): nsfwjs 4.4.0's throws after infer(endpoint)
}
fs.writeFileSync(path.join(dir, "tfjs.json"), JSON.stringify(results));
