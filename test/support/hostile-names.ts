/** Names that are members of Object.prototype: as keys of a plain object they read or write the prototype. */
export const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  'prototype',
  'valueOf',
  '__defineGetter__',
] as const;
