// The DingTalk Open API calls the adapter makes, over fetch (the official @alicloud/dingtalk SDK is a
// generated client of hundreds of endpoints; five small calls do not justify it):
//  - POST /v1.0/oauth2/accessToken {appKey, appSecret} → {accessToken, expireIn} (cached, renewed early);
//  - POST oapi /topapi/v2/user/get?access_token=… {userid} → {errcode, result: {name, org_email, email, …}};
//  - POST /v1.0/card/instances/createAndDeliver (an interactive card into a 1:1 robot chat or a group);
//  - PUT /v1.0/card/instances (update a card's data in place, by outTrackId);
//  - POST /v1.0/im/innerGroups/members/query (an internal group's members, for the audience rule);
//  - POST oapi /media/upload?access_token=… (multipart: `type` file, the file as `media`) → media_id, and
//    POST /v1.0/robot/oToMessages/batchSend (msgKey `sampleFile`): a file into a user's 1:1 robot chat.
// Errors become one DingTalkApiError with the API name and DingTalk's code, never its message text or
// a request body (cards hold customer data).
import { randomUUID } from 'node:crypto';
import { OpenApiClient, type TokenPlace } from '../http/open-api.ts';
import type { DingTalkSettings } from './config.ts';

export class DingTalkApiError extends Error {
  constructor(readonly api: string, readonly code: string, readonly httpStatus: number) {
    super(`dingtalk ${api} failed with ${code} (HTTP ${httpStatus})`);
    this.name = 'DingTalkApiError';
  }
}

/** topapi/v2/user/get: 60121 "找不到该用户" (not in the organisation, or outside the app's range). */
const USER_NOT_FOUND = '60121';
const TOKEN_HEADER: TokenPlace = { header: 'x-acs-dingtalk-access-token' };
const MEMBER_PAGE = 100;
const MAX_MEMBER_PAGES = 50;
const MAX_FILE_BYTES = 20 * 1024 * 1024;

/** A card's variables as the template reads them: DingTalk takes strings only. */
export type CardParams = Record<string, string>;
export type CardSpace = { kind: 'robot'; userId: string } | { kind: 'group'; conversationId: string };

export class DingTalkApi {
  private readonly client: OpenApiClient;

  constructor(private readonly s: Pick<DingTalkSettings, 'appKey' | 'appSecret' | 'robotCode' | 'cardTemplateId' | 'apiUrl' | 'oapiUrl'> & Partial<Pick<DingTalkSettings, 'cardRouteKey' | 'mode'>>, now: () => number = Date.now) {
    this.client = new OpenApiClient(() => this.buyToken(), now);
  }

  /**
   * The user's name in the organisation (what a picked @mention shows) and company e-mail (org_email, else
   * their e-mail), from topapi/v2/user/get; null for a user DingTalk does not know.
   */
  async user(userId: string): Promise<{ name: string | null; email: string | null } | null> {
    const body = await this.call('user.get', `${this.s.oapiUrl}/topapi/v2/user/get`, 'POST', { userid: userId, language: 'zh_CN' }, 'query');
    const code = String(body.errcode ?? '');
    if (code === USER_NOT_FOUND) return null;
    if (code !== '0') throw new DingTalkApiError('user.get', code || 'unknown', 200);
    const r = (body.result ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' && v ? v : null);
    return { name: text(r.name), email: text(r.org_email) ?? text(r.email) };
  }

  /**
   * Every member (userid) of an internal group, page by page. DingTalk answers this only for groups
   * inside the organisation; for any other it fails, and the caller treats the group as the strictest kind.
   */
  async innerGroupMembers(conversationId: string): Promise<string[]> {
    const members: string[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_MEMBER_PAGES; page++) {
      const body = await this.call('im.innerGroups.members.query', `${this.s.apiUrl}/v1.0/im/innerGroups/members/query`, 'POST', {
        openConversationId: conversationId, maxResults: MEMBER_PAGE, ...(nextToken ? { nextToken } : {}),
      });
      members.push(...(Array.isArray(body.userIds) ? body.userIds.filter((u): u is string => typeof u === 'string') : []));
      if (body.hasMore !== true || typeof body.nextToken !== 'string' || !body.nextToken) return members;
      nextToken = body.nextToken;
    }
    // A group larger than we page through: refuse rather than decide on part of the audience.
    throw new DingTalkApiError('im.innerGroups.members.query', 'too_many_members', 200);
  }

  /** Creates a card and delivers it; returns its outTrackId, the handle for updates. */
  async deliverCard(space: CardSpace, params: CardParams, outTrackId = `custos-${randomUUID()}`): Promise<string> {
    const where = space.kind === 'robot'
      ? { openSpaceId: `dtv1.card//IM_ROBOT.${space.userId}`, imRobotOpenSpaceModel: { supportForward: false }, imRobotOpenDeliverModel: { spaceType: 'IM_ROBOT', robotCode: this.s.robotCode } }
      : { openSpaceId: `dtv1.card//IM_GROUP.${space.conversationId}`, imGroupOpenSpaceModel: { supportForward: false }, imGroupOpenDeliverModel: { robotCode: this.s.robotCode } };
    const body = await this.call('card.createAndDeliver', `${this.s.apiUrl}/v1.0/card/instances/createAndDeliver`, 'POST', {
      cardTemplateId: this.s.cardTemplateId, outTrackId, callbackType: this.s.mode === 'stream' ? 'STREAM' : 'HTTP', userIdType: 1,
      ...(this.s.cardRouteKey ? { callbackRouteKey: this.s.cardRouteKey } : {}),
      cardData: { cardParamMap: params }, ...where,
    });
    const results = ((body.result as { deliverResults?: { success?: boolean; errorMsg?: string }[] } | undefined)?.deliverResults) ?? [];
    if (results.length === 0 || results.some((r) => r.success !== true)) throw new DingTalkApiError('card.createAndDeliver', 'not_delivered', 200);
    return outTrackId;
  }

  /** Replaces the card's variables in place (everyone who sees the card sees the new data). */
  async updateCard(outTrackId: string, params: CardParams): Promise<void> {
    await this.call('card.update', `${this.s.apiUrl}/v1.0/card/instances`, 'PUT', {
      outTrackId, cardData: { cardParamMap: params }, cardUpdateOptions: { updateCardDataByKey: true },
    });
  }

  /** Uploads a file (DingTalk's `type=file`: doc, docx, xls, xlsx, ppt, pptx, zip, pdf, rar; ≤ 20 MB); its media_id. */
  async uploadFile(fileName: string, bytes: Buffer): Promise<string> {
    if (bytes.length > MAX_FILE_BYTES) throw new DingTalkApiError('media.upload', 'too_large', 0);
    const form = new FormData();
    form.append('type', 'file');
    form.append('media', new Blob([bytes]), fileName);
    const body = await this.call('media.upload', `${this.s.oapiUrl}/media/upload`, 'POST', form, 'query');
    if (body.errcode !== 0 || typeof body.media_id !== 'string') throw new DingTalkApiError('media.upload', String(body.errcode ?? 'malformed'), 200);
    return body.media_id;
  }

  /** Sends an uploaded file into `userId`'s 1:1 robot chat; fails when DingTalk does not take that user. */
  async sendFile(userId: string, mediaId: string, fileName: string): Promise<string> {
    const msgParam = JSON.stringify({ mediaId, fileName, fileType: fileName.split('.').pop() ?? '' });
    const body = await this.call('robot.oToMessages.batchSend', `${this.s.apiUrl}/v1.0/robot/oToMessages/batchSend`, 'POST', {
      robotCode: this.s.robotCode, userIds: [userId], msgKey: 'sampleFile', msgParam,
    });
    const refused = [body.invalidStaffIdList, body.flowControlledStaffIdList].some((l) => Array.isArray(l) && l.includes(userId));
    if (refused || typeof body.processQueryKey !== 'string') throw new DingTalkApiError('robot.oToMessages.batchSend', refused ? 'not_delivered' : 'malformed', 200);
    return body.processQueryKey;
  }

  private async buyToken(): Promise<{ value: string; ttlMs: number }> {
    const body = await this.call('oauth2.accessToken', `${this.s.apiUrl}/v1.0/oauth2/accessToken`, 'POST', { appKey: this.s.appKey, appSecret: this.s.appSecret }, 'none');
    if (typeof body.accessToken !== 'string' || typeof body.expireIn !== 'number') throw new DingTalkApiError('oauth2.accessToken', 'malformed', 200);
    return { value: body.accessToken, ttlMs: body.expireIn * 1000 };
  }

  /** JSON, or a multipart upload (FormData). The token goes in a header to the new API (api.dingtalk.com), in the query to the old one (oapi). */
  private async call(api: string, url: string, method: 'POST' | 'PUT', payload: Record<string, unknown> | FormData, auth: TokenPlace = TOKEN_HEADER): Promise<Record<string, unknown>> {
    const { ok, status, body } = await this.client.request(method, url, payload, auth);
    // The new API answers errors with an HTTP error and `{code, message}`; the old one with errcode.
    if (!ok) {
      if (status === 401 && auth !== 'none') this.client.tokens.forget(); // revoked or expired early: buy a new one next time
      throw new DingTalkApiError(api, typeof body?.code === 'string' ? body.code.slice(0, 64) : `http_${status}`, status);
    }
    return body ?? {};
  }
}
