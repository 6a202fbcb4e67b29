// Moved to src/wire/status.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../../wire/status.ts';
