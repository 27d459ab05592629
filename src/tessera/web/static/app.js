// Tessera's only script: the browser wallet (EIP-1193). Pages work without it.
"use strict";
