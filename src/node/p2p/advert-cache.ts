// Moved beside the routing table (src/routing/advert-cache.ts), where the routes protocol core lives.
export { AdvertCache } from '../../routing/advert-cache.ts';
