// Moved beside the routing table (src/routing/dial-budget.ts), where the routes protocol core lives.
export { DialBudget } from '../../routing/dial-budget.ts';
