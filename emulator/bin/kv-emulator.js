#!/usr/bin/env node
// The kv-emulator command. The implementation is compiled into ../dist by `npm run build` (which `npm ci`
// runs through `prepare`); this file exists before the build so npm can link the command at install.
import '../dist/cli.mjs';
