/**
 * What api.ts uses of `@slack/web-api`, a CommonJS package, imported statically here so that api.ts can
 * load it lazily through this module: in the CLI's bundle (bin/build.js), an import() of a CommonJS
 * package itself gives only its default export, not the named ones Node gives.
 */
export { ErrorCode, WebClient } from '@slack/web-api';
