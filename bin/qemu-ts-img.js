#!/usr/bin/env node
// qemu-ts-img: runs the compiled CLI from dist/ (built by `npm install` / `npm run build`).
import { runCompiled } from './launch.js';
runCompiled('qemu-ts-img', '../dist/img/main.js');
