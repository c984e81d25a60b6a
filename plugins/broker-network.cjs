'use strict';
/**
 * A local Serverless Framework plugin: private brokers. When the pair file gives this Region's subnets and
 * security groups (custom.brokerNetwork, comma-separated, empty for public brokers), the functions that open
 * connections to the brokers' endpoints are attached to that VPC, and their roles get what Lambda needs to
 * manage the functions' network interfaces. Nothing changes for public brokers.
 *
 * A plugin rather than `vpc:` in serverless.yml: the lists are per Region and per pair, and come in as
 * `--param` strings, which serverless.yml cannot turn into a present-or-absent `vpc` block.
 */
const split = (value) =>
  String(value || '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

class BrokerNetwork {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:compileFunctions': () => this.attach(),
      'before:aws:package:finalize:saveServiceState': () => this.permit(),
    };
  }

  config() {
    const c = this.serverless.service.custom.brokerNetwork;
    if (!c) throw new Error('broker-network: custom.brokerNetwork is missing');
    const subnetIds = split(c.subnetIds);
    const securityGroupIds = split(c.securityGroupIds);
    if ((subnetIds.length === 0) !== (securityGroupIds.length === 0)) {
      throw new Error('broker-network: give both brokerSubnetIds and brokerSecurityGroupIds, or neither');
    }
    return { functions: c.functions || [], subnetIds, securityGroupIds, statement: c.statement };
  }

  attach() {
    const { functions, subnetIds, securityGroupIds } = this.config();
    if (subnetIds.length === 0) return;
    for (const name of functions) this.serverless.service.getFunction(name).vpc = { subnetIds, securityGroupIds };
  }

  permit() {
    const { functions, subnetIds, statement } = this.config();
    if (subnetIds.length === 0) return;
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    for (const name of functions) {
      const role = resources[this.serverless.service.getFunction(name).role];
      const statements = role?.Properties.Policies?.[0].PolicyDocument.Statement;
      if (!statements) throw new Error(`broker-network: function ${name} has no role of its own in the template`);
      statements.push(statement);
    }
  }
}

module.exports = BrokerNetwork;
