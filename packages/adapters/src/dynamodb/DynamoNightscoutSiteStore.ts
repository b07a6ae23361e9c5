import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  type WriteRequest
} from "@aws-sdk/client-dynamodb"
import {
  constantTimeEqual,
  type NightscoutRole,
  type NightscoutSite,
  NightscoutSiteStore,
  NightscoutSiteStoreError,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { DynamoDbClient } from "./DynamoDbClient.ts"
import { type DynamoFailure, describeFailure, isConditionFailure } from "./DynamoErrors.ts"
import { userPk } from "./TableLayout.ts"

/**
 * The layout, on the shared table:
 * - the site:        pk = `USER#<userId>`, sk = `NIGHTSCOUT_SITE`, with both digests and a generation number;
 * - each credential: pk = `NS_CREDENTIAL#<digest>`, sk = `NS_CREDENTIAL`, naming the user and the role,
 *   so that the root site finds a user from a credential with one strongly consistent read (an index would
 *   be eventually consistent: a rotated credential could still be found there for a while).
 * The site item is the truth: a credential item counts only while the site item still holds its digest, so a
 * rotation takes effect the moment the site item is written, and a credential item left behind by an
 * interrupted rotation opens nothing.
 */
const SITE_SK = "NIGHTSCOUT_SITE"
const CREDENTIAL_PREFIX = "NS_CREDENTIAL#"
const CREDENTIAL_SK = "NS_CREDENTIAL"
const A = {
  secretHash: "ns_secret_hash",
  tokenHash: "ns_token_hash",
  generation: "ns_generation",
  role: "ns_role",
  userId: "user_id",
  createdAt: "created_at",
  updatedAt: "updated_at"
} as const
/** Saves of one site that lose a race are tried again this often, each time against what the winner wrote. */
const SAVE_ATTEMPTS = 8

const siteKey = (userId: UserId) => ({ pk: { S: userPk(userId) }, sk: { S: SITE_SK } })
const credentialKey = (hash: string) => ({ pk: { S: `${CREDENTIAL_PREFIX}${hash}` }, sk: { S: CREDENTIAL_SK } })

const failure = (operation: NightscoutSiteStoreError["operation"]) => (error: DynamoFailure) =>
  new NightscoutSiteStoreError({ operation, message: describeFailure(error), cause: error.cause })

/** `NightscoutSiteStore` on the DynamoDB table: conditional writes on a generation number, consistent reads. */
export const makeDynamoNightscoutSiteStore = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const { table, decode } = dynamo

  const siteOfItem = (item: Record<string, AttributeValue>, userId: UserId) => {
    const text = (name: string) => {
      const value = item[name]?.S
      if (value === undefined) throw new Error(`the Nightscout site item lacks ${name}`)
      return value
    }
    const millis = (name: string) => {
      const value = Number(item[name]?.N)
      if (!Number.isFinite(value)) throw new Error(`the Nightscout site item lacks ${name}`)
      return value
    }
    return {
      site: {
        userId,
        secretHash: text(A.secretHash),
        tokenHash: text(A.tokenHash),
        createdAt: DateTime.makeUnsafe(millis(A.createdAt)),
        updatedAt: DateTime.makeUnsafe(millis(A.updatedAt))
      } satisfies NightscoutSite,
      generation: millis(A.generation)
    }
  }

  const readSite = (userId: UserId) =>
    Effect.flatMap(
      dynamo.call("GetItem", (sdk) =>
        sdk.send(new GetItemCommand({ TableName: table, Key: siteKey(userId), ConsistentRead: true }))
      ),
      (output) =>
        output.Item === undefined
          ? Effect.succeed(Option.none<ReturnType<typeof siteOfItem>>())
          : Effect.map(
              decode("GetItem", () => siteOfItem(output.Item!, userId)),
              Option.some
            )
    )

  const credentialItems = (userId: UserId, secretHash: string, tokenHash: string): Array<WriteRequest> =>
    (
      [
        [secretHash, "uploader"],
        [tokenHash, "follower"]
      ] as const
    ).map(([hash, role]) => ({
      PutRequest: { Item: { ...credentialKey(hash), [A.userId]: { S: userId }, [A.role]: { S: role } } }
    }))

  /** Credential items of digests no longer in use; one left behind (a failed call) is harmless, only garbage. */
  const forget = (hashes: ReadonlyArray<string>) =>
    dynamo
      .batchWrite(hashes.map((hash) => ({ DeleteRequest: { Key: credentialKey(hash) } })))
      .pipe(
        Effect.catch((error) =>
          Effect.logWarning("Old Nightscout credential items not deleted").pipe(
            Effect.annotateLogs({ reason: describeFailure(error) })
          )
        )
      )

  const save = Effect.fn("DynamoNightscoutSiteStore.save")(
    function* (input: {
      readonly userId: UserId
      readonly secretHash: string
      readonly tokenHash: string
      readonly at: DateTime.Utc
    }) {
      const { userId, secretHash, tokenHash } = input
      const at = String(DateTime.toEpochMillis(input.at))
      // The new credential items first: they open nothing until the site item names their digests.
      yield* dynamo.batchWrite(credentialItems(userId, secretHash, tokenHash))
      for (let attempt = 1; ; attempt++) {
        const previous = yield* readSite(userId)
        // An earlier attempt landed though its answer was lost (the SDK retried it into a condition failure).
        if (Option.isSome(previous) && previous.value.site.secretHash === secretHash) {
          return { created: DateTime.toEpochMillis(previous.value.site.createdAt) === Number(at) }
        }
        const generation = Option.match(previous, { onNone: () => 0, onSome: (found) => found.generation })
        const written = yield* dynamo
          .call("PutItem", (sdk) =>
            sdk.send(
              new PutItemCommand({
                TableName: table,
                Item: {
                  ...siteKey(userId),
                  [A.secretHash]: { S: secretHash },
                  [A.tokenHash]: { S: tokenHash },
                  [A.generation]: { N: String(generation + 1) },
                  [A.createdAt]: {
                    N: Option.match(previous, {
                      onNone: () => at,
                      onSome: (found) => String(DateTime.toEpochMillis(found.site.createdAt))
                    })
                  },
                  [A.updatedAt]: { N: at }
                },
                // Written over exactly what was read: a concurrent save in between makes this one try again.
                ...(Option.isNone(previous)
                  ? { ConditionExpression: "attribute_not_exists(pk)" }
                  : {
                      ConditionExpression: "#generation = :generation",
                      ExpressionAttributeNames: { "#generation": A.generation },
                      ExpressionAttributeValues: { ":generation": { N: String(generation) } }
                    })
              })
            )
          )
          .pipe(
            Effect.as(true),
            Effect.catchIf(
              (error) => isConditionFailure(error.cause) && attempt < SAVE_ATTEMPTS,
              () => Effect.succeed(false)
            )
          )
        if (!written) continue
        if (Option.isSome(previous)) {
          const replaced = [previous.value.site.secretHash, previous.value.site.tokenHash]
          yield* forget(replaced.filter((hash) => hash !== secretHash && hash !== tokenHash))
        }
        return { created: Option.isNone(previous) }
      }
    },
    Effect.mapError(failure("save"))
  )

  const get = Effect.fn("DynamoNightscoutSiteStore.get")(
    function* (userId: UserId) {
      return Option.map(yield* readSite(userId), (found) => found.site)
    },
    Effect.mapError(failure("get"))
  )

  const find = Effect.fn("DynamoNightscoutSiteStore.find")(
    function* (hash: string) {
      const output = yield* dynamo.call("GetItem", (sdk) =>
        sdk.send(new GetItemCommand({ TableName: table, Key: credentialKey(hash), ConsistentRead: true }))
      )
      const userId = output.Item?.[A.userId]?.S as UserId | undefined
      const role = output.Item?.[A.role]?.S as NightscoutRole | undefined
      if (userId === undefined || (role !== "uploader" && role !== "follower")) return Option.none()
      const site = yield* readSite(userId)
      if (Option.isNone(site)) return Option.none()
      const current = role === "uploader" ? site.value.site.secretHash : site.value.site.tokenHash
      return constantTimeEqual(current, hash) ? Option.some({ userId, role }) : Option.none()
    },
    Effect.mapError(failure("find"))
  )

  const remove = Effect.fn("DynamoNightscoutSiteStore.remove")(
    function* (userId: UserId) {
      const output = yield* dynamo.call("DeleteItem", (sdk) =>
        sdk.send(new DeleteItemCommand({ TableName: table, Key: siteKey(userId), ReturnValues: "ALL_OLD" }))
      )
      const old = output.Attributes
      if (old === undefined) return false
      yield* forget([old[A.secretHash]?.S, old[A.tokenHash]?.S].filter((hash) => hash !== undefined))
      return true
    },
    Effect.mapError(failure("remove"))
  )

  return NightscoutSiteStore.of({ save, get, find, remove })
})

export const DynamoNightscoutSiteStore = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(NightscoutSiteStore, makeDynamoNightscoutSiteStore)
} as const
