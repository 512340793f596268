// Committer thread bootstrap: registers the TypeScript loader, then runs the committer.
import { register } from 'tsx/esm/api';

register();
await import('./committer-thread.ts');
