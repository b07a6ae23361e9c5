import { RabbitMqEventPublisher } from "@bg-ingest/adapters/rabbitmq"
import { Effect, Layer, Redacted } from "effect"
import { describeWithBroker, resolveTestBroker, TestConsumer, uniqueName } from "../support/rabbitmq.ts"
import { eventPublisherContract } from "./EventPublisherContract.ts"

describeWithBroker("RabbitMQ", await resolveTestBroker(), ({ url }) => {
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
