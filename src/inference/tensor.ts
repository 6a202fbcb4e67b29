// Moved to src/wire/tensor.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../wire/tensor.ts';
