import { Duration } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PARTITIONS_BY_COMPONENT, TABLE_PARTITIONS } from '../src/adapters/aws/state-table.js';
import type { AwsEnvironmentVariables } from '../src/config/aws-environment.js';
import { BLOB_PREFIXES } from '../src/domain/blob-keys.js';
import { notifyingAlarm } from './alarms.js';
import { bundledFunctionProps, type FunctionResources } from './function-props.js';
import { generatedKey } from './generated-secret.js';
import { grantBlobPrefixes, grantSecretKinds, grantSecretValue, grantTablePartitions } from './grants.js';

export interface ManagementApiProps extends FunctionResources {
  /** Also serve the API at a function URL that takes IAM (SigV4) callers instead of tokens. */
  readonly iamAccess: boolean;
  /**
   * The hosted OAuth2 connect flow's settings: a secret holding the config file's `connect` section as JSON
   * (client secrets inline). Without it, the flow is off.
   */
  readonly connect: secretsmanager.ISecret | undefined;
  /** The dashboard shows subjects and senders, read from the raw messages' headers (never their bodies). */
  readonly showMessageDetails: boolean;
  /** Where events' blob links go, and the key that signs them: a message read again gets fresh links. */
  readonly blobLinks: { readonly url: string; readonly key: secretsmanager.ISecret };
  /** Requests per second the HTTP API lets through (steady, burst). */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
}

/**
 * The management API (`/v1/...`, the OpenAPI document at `/v1/openapi.json`) and the dashboard (`/dashboard`): one
 * function behind an HTTP API,
 * where every request needs a token made with `idlehook tokens create --stack NAME`, and optionally a function URL
 * for callers inside AWS that sign with SigV4 (`grantIamAccess`).
 */
export class ManagementApi extends Construct {
  readonly handler: NodejsFunction;
  readonly httpApi: apigateway.HttpApi;
  /** The API's base URL (HTTP API, tokens). */
  readonly url: string;
  /** The function URL for IAM callers, when `iamAccess` is on. */
  readonly iamUrl: lambda.FunctionUrl | undefined;
  /** Signs the connect flow's links and `state`, when the flow is on. */
  readonly connectKey: secretsmanager.Secret | undefined;

  constructor(scope: Construct, id: string, props: ManagementApiProps) {
    super(scope, id);
    this.connectKey = props.connect
      ? generatedKey(
          this,
          'ConnectKey',
          "HMAC key of idlehook's connect links and OAuth2 state",
          props.removalPolicy,
        )
      : undefined;
    const connectEnvironment: AwsEnvironmentVariables =
      props.connect && this.connectKey
        ? {
            IDLEHOOK_CONNECT_CONFIG_ARN: props.connect.secretArn,
            IDLEHOOK_CONNECT_KEY_ARN: this.connectKey.secretArn,
          }
        : {};
    this.handler = new NodejsFunction(
      this,
      'Handler',
      // The doctor's walk (DNS, TCP, TLS, login, mailboxes) runs before an account is stored.
      bundledFunctionProps(
        this,
        'api',
        Duration.seconds(29),
        {
          ...props.environment,
          ...connectEnvironment,
          IDLEHOOK_BLOB_LINK_URL: props.blobLinks.url,
          IDLEHOOK_BLOB_LINK_KEY_ARN: props.blobLinks.key.secretArn,
          ...(props.showMessageDetails ? { IDLEHOOK_DASHBOARD_MESSAGE_DETAILS: 'true' } : {}),
          ...(props.iamAccess ? { IDLEHOOK_IAM_ACCESS: 'true' } : {}),
        },
        props.removalPolicy,
      ),
    );
    if (props.connect && this.connectKey) {
      // Flows under way: written when the user leaves for the provider, taken (deleted) when they return.
      const flows = `${TABLE_PARTITIONS.connectFlow}*`;
      grantTablePartitions(this.handler, props.table, { PutItem: [flows], DeleteItem: [flows] });
      grantSecretValue(this.handler, props.connect);
      grantSecretValue(this.handler, this.connectKey);
    }
    // Accounts and subscriptions (and their removal), tokens (verify notes each use), subscription health
    // (enable) and attempts, dead letters (list; a replay records its attempt and outcome).
    grantTablePartitions(this.handler, props.table, PARTITIONS_BY_COMPONENT.api);
    grantSecretValue(this.handler, props.blobLinks.key);
    // A replay reads a large dead letter's body and deletes it once delivered; GET .../messages/{ref} reads a
    // raw message to build its event again (and the dashboard its headers, where subjects and senders are shown).
    grantBlobPrefixes(this.handler, props.bucket, {
      read: [BLOB_PREFIXES.deadLetters, BLOB_PREFIXES.raw],
      write: [],
      delete: [BLOB_PREFIXES.deadLetters],
    });
    // Signing secrets sent to the API are stored, each value under a new name; a change reads the stored ones to
    // merge. A secret no longer referenced (a rotated-out signing secret, an account's password stored before
    // sealing once the account changes or goes) is scheduled for deletion. Account credentials are sealed in the
    // table: the API only reads and deletes the secrets of accounts stored before.
    const kept = [
      'secretsmanager:GetSecretValue',
      'secretsmanager:CreateSecret',
      'secretsmanager:PutSecretValue',
    ];
    grantSecretKinds(this, this.handler, [...kept, 'secretsmanager:DeleteSecret'], props.secretPrefix, [
      'subscriptions',
    ]);
    grantSecretKinds(
      this,
      this.handler,
      ['secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'],
      props.secretPrefix,
      ['accounts'],
    );
    // The doctor's OAuth2 check reads tokens a watcher saved before sealing (it seals new ones in the table).
    grantSecretKinds(this, this.handler, ['secretsmanager:GetSecretValue'], props.secretPrefix, [
      'oauth2-tokens',
    ]);
    // The status route's queue depths.
    this.handler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:GetQueueAttributes'],
        resources: [props.ingestQueue.queueArn, props.deliveryQueue.queueArn],
      }),
    );
    // Retry now: a delivery SQS holds back for its next attempt is made due at once, by its receipt handle.
    this.handler.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ChangeMessageVisibility'],
        resources: [props.deliveryQueue.queueArn],
      }),
    );

    this.httpApi = new apigateway.HttpApi(this, 'Http', {
      description: 'idlehook management API (bearer tokens)',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Handler', this.handler),
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy,
    });
    const stage = new apigateway.HttpStage(this, 'Stage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new apigateway.LogGroupLogDestination(accessLogs) },
    });
    this.url = stage.url;
    this.iamUrl = props.iamAccess
      ? this.handler.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM })
      : undefined;

    notifyingAlarm(this, 'ErrorsAlarm', {
      metric: this.handler.metricErrors({ period: Duration.minutes(1) }),
      threshold: 1,
      description: 'The management API function failed (a crash, not a refused request).',
      topic: props.alarmTopic,
    });
  }

  /** Lets a role inside AWS call the API at its function URL, signing with SigV4 (no token). */
  grantIamAccess(grantee: iam.IGrantable): void {
    if (!this.iamUrl)
      throw new Error('the management API was made without iamAccess: set managementApi.iamAccess');
    this.iamUrl.grantInvokeUrl(grantee);
  }
}
