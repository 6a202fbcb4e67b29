// Moved to src/wire/address.ts (the protocol layer shared by node, client and CLI); kept so existing imports hold.
export * from '../../wire/address.ts';
