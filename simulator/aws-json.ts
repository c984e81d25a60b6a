/** What the awsJson services of the simulator (CloudWatch, SSM) share: their error shape on the wire. */

/** Answered as `{"__type": type, "message"}` with `status`, as awsJson1_0 and awsJson1_1 clients read errors. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
