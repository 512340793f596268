// Piscina worker bootstrap: registers the TypeScript loader, then exposes the tasks.
import { register } from 'tsx/esm/api';

register();
const tasks = await import('./pool-tasks.ts');
export default tasks.default;
