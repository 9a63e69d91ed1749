#!/usr/bin/env node
// A stand-in for the native `solc` binary, enough for py-solc-x: `--version` and `--standard-json`
// (input on stdin, output on stdout), compiled by the npm `solc` package (WebAssembly), so the
// build needs no download. Other flags are ignored except `--base-path`, the first import root.
//
// Imports are looked up under, in order: the base path (or the current directory), the contracts
// directory (VPL_CONTRACTS_DIR, else ../../contracts) and node_modules (VPL_NODE_MODULES, else
// ../../node_modules), so `@openzeppelin/contracts/...` resolves to the pinned npm package.
'use strict';

const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..', '..');
const nodeModules = path.resolve(process.env.VPL_NODE_MODULES || path.join(repoRoot, 'node_modules'));
const contractsDir = path.resolve(process.env.VPL_CONTRACTS_DIR || path.join(repoRoot, 'contracts'));

function fail(message) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function loadSolc() {
  try {
    return require(path.join(nodeModules, 'solc'));
  } catch (err) {
    return fail(`cannot load the npm solc package from ${nodeModules} (run \`npm install\`): ${err.message}`);
  }
}

function optionValue(args, name) {
  const index = args.indexOf(name);
  const inline = args.find((arg) => arg.startsWith(`${name}=`));
  if (inline) return inline.slice(name.length + 1);
  return index >= 0 ? args[index + 1] : undefined;
}

function importCallback(roots) {
  return (importPath) => {
    for (const root of roots) {
      const candidate = path.resolve(root, importPath);
      // Like solc's --allow-paths: never read outside an import root.
      if (!candidate.startsWith(root + path.sep)) continue;
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    return { error: `File not found under ${roots.join(', ')}` };
  };
}

function main(args) {
  if (args.includes('--version')) {
    const solc = loadSolc();
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!args.includes('--standard-json')) {
    fail('this wrapper only supports --version and --standard-json');
  }
  const solc = loadSolc();
  const basePath = path.resolve(optionValue(args, '--base-path') || process.cwd());
  const roots = [...new Set([basePath, contractsDir, nodeModules])];
  const input = fs.readFileSync(0, 'utf8');
  process.stdout.write(solc.compile(input, { import: importCallback(roots) }));
  process.stdout.write('\n');
}

main(process.argv.slice(2));
