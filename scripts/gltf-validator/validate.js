#!/usr/bin/env node
// Validates glTF files with the Khronos glTF validator (npm gltf-validator, installed by
// scripts/setup.sh into .deps/gltf-validator) and prints one JSON report per file on stdout:
//
//   node scripts/gltf-validator/validate.js FILE.glb...
//   -> [{"file": ..., "validator": version, "errors": n, "warnings": n, "infos": n, "hints": n,
//        "messages": [{"code", "severity" (0 error, 1 warning, 2 info, 3 hint), "message",
//        "pointer" or "offset"}]}, ...]
//
// The validator is found in $GLTF_VALIDATOR_DIR, else in the project's .deps/gltf-validator.
// Exits 0 when every file could be read and validated (whatever the reports say), 1 otherwise.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = process.env.GLTF_VALIDATOR_DIR ||
	path.join(__dirname, '..', '..', '.deps', 'gltf-validator');
let validator;
try {
	validator = require(path.join(dir, 'node_modules', 'gltf-validator'));
} catch (e) {
	console.error(`gltf-validator not found in ${dir} (run scripts/setup.sh): ${e.message}`);
	process.exit(1);
}

async function main(files) {
	const out = [];
	for (const file of files) {
		const bytes = new Uint8Array(fs.readFileSync(file));
		const report = await validator.validateBytes(bytes, {
			uri: path.basename(file), maxIssues: 0, writeTimestamp: false,
		});
		const issues = report.issues;
		out.push({
			file, validator: validator.version(),
			errors: issues.numErrors, warnings: issues.numWarnings, infos: issues.numInfos,
			hints: issues.numHints, messages: issues.messages,
		});
	}
	return out;
}

if (process.argv.length < 3) {
	console.error('usage: validate.js FILE.glb...');
	process.exit(1);
}
main(process.argv.slice(2)).then(
	(out) => console.log(JSON.stringify(out, null, 1)),
	(err) => { console.error(`gltf-validator: ${err}`); process.exit(1); });
