// Moved to src/wire/params.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../../wire/params.ts';
