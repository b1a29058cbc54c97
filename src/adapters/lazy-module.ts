/** A library loaded when a feature first needs it, so a gateway whose config does not use the feature never holds it. */

/**
 * One load shared by every caller; a load that failed is forgotten, so a later call tries again.
 * A CommonJS package goes through a module of ours that imports it statically (slack/web-api.ts):
 * in the CLI's bundle, an import() of the package itself gives only its default export.
 *
 * @example
 * const slackLibrary = lazyModule(() => import('./web-api.ts'));
 * const { WebClient } = await slackLibrary();
 */
export function lazyModule<M>(load: () => Promise<M>): () => Promise<M> {
  let library: Promise<M> | undefined;
  return () => {
    const loading = (library ??= load());
    loading.catch(() => {
      if (library === loading) library = undefined;
    });
    return loading;
  };
}
