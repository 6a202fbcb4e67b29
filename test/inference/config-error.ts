// The message a `models:` section is refused with ('no error' when it compiles): the config
// tests assert that each mistake is named.
import { compileModelSpecs } from '../../src/inference/config.ts';

export function errorOf(models: unknown[]): string {
  try {
    compileModelSpecs({ models }, process.cwd());
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}
