import { readFileSync } from 'node:fs';
import { lintTemplate, loadSpec } from '/work/main/test/support/cfn-lint.ts';
const t = JSON.parse(readFileSync(process.argv[2] ?? '/work/main/.serverless/cloudformation-template-update-stack.json', 'utf8'));
console.log(lintTemplate(t, loadSpec()).join('\n'));
