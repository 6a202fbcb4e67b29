// Moved to src/wire/protos.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../../wire/protos.ts';
