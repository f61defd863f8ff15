#!/usr/bin/env node
// qemu-ts-system-x86_64: runs the compiled emulator from dist/ (built by `npm install` / `npm run build`).
import { runCompiled } from './launch.js';
runCompiled('qemu-ts-system-x86_64', '../dist/system/main.js');
