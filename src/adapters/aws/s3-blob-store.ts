import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobStore, NotedBlobs } from '../../ports/services.js';

/** How long a redirect from a blob link stays usable: enough to start the download. */
const PRESIGNED_SECONDS = 300;

/** Makes the links events carry (see domain/blob-links.ts); absent where nothing builds events. */
export interface BlobLinkSigner {
  link(key: string): Promise<string>;
}

/** The user metadata key of a blob's note (S3 sends it as the `x-amz-meta-idlehook-note` header). */
const NOTE_METADATA = 'idlehook-note';

/** Raw messages, attachments and overflow in S3. Events link to blobs through the link endpoint. */
export class S3BlobStore implements BlobStore, NotedBlobs {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly links?: BlobLinkSigner,
  ) {}

  /** The note travels as user metadata on the same PUT: no second request. */
  async put(key: string, content: Buffer, note?: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: content,
        ...(note === undefined ? {} : { Metadata: { [NOTE_METADATA]: note } }),
      }),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.getNoted(key))?.content;
  }

  async getNoted(key: string): Promise<{ content: Buffer; note: string | undefined } | undefined> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!result.Body) return undefined;
      return {
        content: Buffer.from(await result.Body.transformToByteArray()),
        note: result.Metadata?.[NOTE_METADATA],
      };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  url(key: string): Promise<string> {
    if (!this.links)
      throw new Error(
        'IDLEHOOK_BLOB_LINK_URL and IDLEHOOK_BLOB_LINK_KEY_ARN are not set: events cannot link to blobs',
      );
    return this.links.link(key);
  }

  /** A short-lived presigned GET, made by the link endpoint with its own (current) credentials. */
  presign(key: string): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: PRESIGNED_SECONDS,
    });
  }
}
