'use strict';
/**
 * A local Serverless Framework plugin: two pairs of one stage in one account never share an export name.
 * CloudFormation export names are unique per Region and account; the framework names its outputs' exports
 * `sls-<service>-<stage>-<output>`, which two pairs' stacks would both claim. Named here after the stack's
 * prefix (custom.prefix, which carries the pair) before the framework fills in the rest.
 */
class PairNames {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:aws:package:finalize:addExportNameForOutputs': () => this.name() };
  }

  name() {
    const prefix = this.serverless.service.custom.prefix;
    if (!prefix) throw new Error('pair-names: custom.prefix is missing');
    const outputs = this.serverless.service.provider.compiledCloudFormationTemplate.Outputs || {};
    for (const [key, output] of Object.entries(outputs)) output.Export = { Name: `${prefix}-${key}` };
  }
}

module.exports = PairNames;
