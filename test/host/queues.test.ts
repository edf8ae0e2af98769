import { QueueClient } from "@azure/storage-queue";
import type { InvocationContext } from "@azure/functions";
import { describe, expect, it } from "vitest";
import type { FunctionDeclaration } from "../../src/functions/registry.js";
import { startLocalHost } from "../../dev/host/index.js";
import { useAzurite } from "../support/azurite.js";
import { captureLogger, useLocalHost, waitFor } from "../support/localHost.js";

const handled: Array<{ value: unknown; metadata: Record<string, unknown> }> = [];
const failures: number[] = [];
const fixtures: FunctionDeclaration[] = [
  {
    kind: "storageQueue",
    name: "protectServer",
    options: {
      queueName: "%TEST_QUEUE%",
      connection: "AzureWebJobsStorage",
      handler: (value: unknown, context: InvocationContext) => {
        handled.push({ value, metadata: context.triggerMetadata ?? {} });
      },
    },
  },
  {
    kind: "storageQueue",
    name: "alwaysFails",
    options: {
      queueName: "fails",
      connection: "AzureWebJobsStorage",
      handler: (_value: unknown, context: InvocationContext) => {
        failures.push(context.triggerMetadata?.dequeueCount as number);
        throw new Error("downstream unavailable");
      },
    },
  },
];

const base64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

describe("local host: Storage Queue triggers", () => {
  const azurite = useAzurite();
  const host = useLocalHost(() => ({
    declarations: fixtures,
    env: { AzureWebJobsStorage: azurite.connectionString, TEST_QUEUE: "protect-requests" },
    queuePollIntervalInMs: 100,
    visibilityTimeoutInMs: 0,
  }));
  const queue = (name: string): QueueClient => new QueueClient(azurite.connectionString, name);

  it("decodes base64 JSON, passes the trigger metadata and deletes the message on success", async () => {
    handled.length = 0;
    const q = queue("protect-requests");
    await q.createIfNotExists();
    const sent = await q.sendMessage(base64(JSON.stringify({ serverId: "pg-1", cause: "event" })));
    const got = await waitFor(() => handled[0], "the queue invocation");
    expect(got.value).toEqual({ serverId: "pg-1", cause: "event" });
    expect(got.metadata).toMatchObject({
      id: sent.messageId,
      dequeueCount: 1,
      queueTrigger: '{"serverId":"pg-1","cause":"event"}',
      insertionTime: sent.insertedOn.toISOString(),
      expirationTime: sent.expiresOn.toISOString(),
    });
    expect(Object.keys(got.metadata).sort()).toEqual(
      [
        "dequeueCount",
        "expirationTime",
        "id",
        "insertionTime",
        "nextVisibleTime",
        "popReceipt",
        "queueTrigger",
      ].sort(),
    );
    await host.idle();
    await waitFor(
      async () => ((await q.getProperties()).approximateMessagesCount === 0 ? true : undefined),
      "deletion",
    );
  });

  it("hands a message that is not JSON to the handler as a string", async () => {
    handled.length = 0;
    await queue("protect-requests").sendMessage(base64("just text"));
    expect((await waitFor(() => handled[0], "the queue invocation")).value).toBe("just text");
  });

  it("retries a failing message until maxDequeueCount, then moves it to <queue>-poison", async () => {
    failures.length = 0;
    const q = queue("fails");
    await q.createIfNotExists();
    await q.sendMessage(base64('{"serverId":"pg-poison"}'));
    const poison = queue("fails-poison");
    const moved = await waitFor(async () => {
      if (!(await poison.exists())) return undefined;
      return (await poison.peekMessages()).peekedMessageItems[0];
    }, "the poison message");
    expect(failures).toEqual([1, 2, 3, 4, 5]);
    expect(Buffer.from(moved.messageText, "base64").toString("utf8")).toBe('{"serverId":"pg-poison"}');
    expect((await q.peekMessages()).peekedMessageItems).toEqual([]);
    expect(host.log).toContainEqual(
      expect.stringMatching(
        /^warn: Message .* has reached MaxDequeueCount of 5\. Moving message to queue 'fails-poison'\.$/,
      ),
    );
  });

  it("never hands the handler a message that is not base64, and poisons it after maxDequeueCount", async () => {
    handled.length = 0;
    const q = queue("protect-requests");
    await q.sendMessage("not base64 at all!");
    const poison = queue("protect-requests-poison");
    const moved = await waitFor(async () => {
      if (!(await poison.exists())) return undefined;
      return (await poison.peekMessages()).peekedMessageItems[0];
    }, "the undecodable message in poison");
    expect(moved.messageText).toBe("not base64 at all!");
    expect(handled).toEqual([]);
    expect(host.log).toContainEqual(
      "error: Queue trigger protectServer: Message decoding has failed: the text is not base64, which host.json extensions.queues.messageEncoding expects.",
    );
  });

  it("finishes a running invocation on stop and deletes its message: none is lost", async () => {
    let release: () => void = () => undefined;
    const started: string[] = [];
    const finished: string[] = [];
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = await startLocalHost({
      port: 0,
      timers: "off",
      logger: captureLogger(),
      env: { AzureWebJobsStorage: azurite.connectionString },
      queuePollIntervalInMs: 100,
      declarations: [
        {
          kind: "storageQueue",
          name: "slow",
          options: {
            queueName: "slow",
            connection: "AzureWebJobsStorage",
            handler: async (value: unknown) => {
              started.push(String(value));
              await gate;
              finished.push(String(value));
            },
          },
        },
      ],
    });
    const q = queue("slow");
    await q.createIfNotExists();
    await q.sendMessage(base64("m-1"));
    await waitFor(() => started[0], "the slow invocation to start");
    const stopping = slow.stop();
    release();
    await stopping;
    expect(finished).toEqual(["m-1"]);
    expect((await q.getProperties()).approximateMessagesCount).toBe(0);
  });
});
