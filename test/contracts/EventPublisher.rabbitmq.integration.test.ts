import { RabbitMqEventPublisher } from "@bg-ingest/adapters/rabbitmq"
import { afterAll, describe } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { resolveTestBroker, TestConsumer, uniqueName } from "../support/rabbitmq.ts"
import { eventPublisherContract } from "./EventPublisherContract.ts"

const broker = await resolveTestBroker()
afterAll(() => broker?.stop())

describe.skipIf(broker === undefined)("RabbitMQ", () => {
  const url = broker?.url ?? ""
  eventPublisherContract("rabbitmq", {
    makeLayer: () => {
      const exchange = uniqueName("test.contract")
      return Layer.merge(
        RabbitMqEventPublisher.layer({ url: Redacted.make(url), exchange }),
        TestConsumer.layer({ url, exchange })
      )
    },
    observedEventIds: (expected) =>
      TestConsumer.use((consumer) => consumer.awaitCount(expected)).pipe(
        Effect.map((messages) => messages.map((message) => String(message.properties.messageId)))
      )
  })
})
