#!/usr/bin/env node
import { main } from '../src/main.js';

// Exit at once with the code: idle keep-alive sockets must not hold a finished command open.
process.exit(await main(process.argv));
