// The KafkaJS programs of the compatibility suite (compat/test_kafkajs.py): one
// sub-command per scenario, each the code KafkaJS's README and docs show, with only
// the broker address changed. Results are JSON on stdout; KafkaJS's own log lines go
// to stderr so they never mix with them.
'use strict'

const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, Partitioners, logLevel } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')

// KafkaJS ships gzip; snappy is the documented plug-in codec. (Its lz4 and zstd
// plug-ins need native modules that do not build on current Node.)
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
const CODECS = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.Snappy }

function parseArgs(argv) {
  const args = {}
  for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1]
  return args
}

const emit = value => process.stdout.write(JSON.stringify(value) + '\n')

const stderrLogger = () => ({ namespace, level, label, log }) => {
  const { message, ...extra } = log
  process.stderr.write(`${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
}

function client(args) {
  return new Kafka({
    clientId: 'tidelog-compat',
    brokers: [args.brokers],
    logLevel: logLevel.WARN,
    logCreator: stderrLogger,
    // Fail within seconds, not minutes: a broken broker must fail the test, not hang it.
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
    requestTimeout: 10000,
  })
}

const recordOf = (partition, message) => ({
  partition,
  offset: Number(message.offset),
  key: message.key === null ? null : message.key.toString(),
  value: message.value.toString(),
  timestamp: Number(message.timestamp),
})

// A keyed producer with compression: one send, acks from all in-sync replicas.
async function produce(args) {
  const count = Number(args.count || 100)
  const base = args.timestamp ? Number(args.timestamp) : null
  const producer = client(args).producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true })
  await producer.connect()
  const messages = []
  for (let i = 0; i < count; i++) {
    const message = { key: `user-${i % 7}`, value: `value-${String(i).padStart(4, '0')}` }
    if (base !== null) message.timestamp = String(base + i * 1000)
    messages.push(message)
  }
  const metadata = await producer.send({ topic: args.topic, compression: CODECS[args.codec || 'none'], acks: -1, messages })
  await producer.disconnect()
  emit(metadata.map(m => ({ partition: m.partition, errorCode: m.errorCode, baseOffset: Number(m.baseOffset) })))
}

// Reads every partition of a topic in a throw-away group, first seeking each
// partition to an offset or to the offset a timestamp resolves to, until `count`
// records arrived or none came for `idle` ms.
async function consume(args) {
  const kafka = client(args)
  const count = args.count ? Number(args.count) : Infinity
  const idle = Number(args.idle || 3000)
  let starts = null
  if (args['after-milli']) {
    const admin = kafka.admin()
    await admin.connect()
    starts = await admin.fetchTopicOffsetsByTimestamp(args.topic, Number(args['after-milli']))
    await admin.disconnect()
  } else if (args.offset) {
    const admin = kafka.admin()
    await admin.connect()
    starts = (await admin.fetchTopicOffsets(args.topic)).map(p => ({ partition: p.partition, offset: args.offset }))
    await admin.disconnect()
  }
  const consumer = kafka.consumer({
    groupId: `read-${args.topic}-${process.pid}-${Date.now()}`,
    readUncommitted: args['read-committed'] !== 'true',
    heartbeatInterval: 500,
  })
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  const records = []
  let lastRecordAt = Date.now()
  let done
  const finished = new Promise(resolve => (done = resolve))
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      records.push(recordOf(partition, message))
      lastRecordAt = Date.now()
      if (records.length >= count) done()
    },
  })
  // run() resolves once the group is joined: the idle clock starts now, and the seeks
  // apply before the first fetch.
  for (const start of starts || []) consumer.seek({ topic: args.topic, partition: start.partition, offset: String(start.offset) })
  lastRecordAt = Date.now()
  const idleCheck = setInterval(() => Date.now() - lastRecordAt > idle && done(), 100)
  await finished
  clearInterval(idleCheck)
  await consumer.disconnect()
  records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  emit(records.slice(0, count))
}

// A group member as the README has it: eachMessage with autoCommit, which KafkaJS
// commits after each batch and, when a heartbeat says the group is rebalancing,
// before it rejoins. Events are JSON lines; closing stdin stops it (leaving the group).
async function member(args) {
  const consumer = client(args).consumer({ groupId: args.group, sessionTimeout: 6000, heartbeatInterval: 500 })
  let current = []
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    emit({ event: 'revoked', partitions: current })
    current = payload.memberAssignment[args.topic] || []
    emit({ event: 'assigned', partitions: current })
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => emit({ event: 'error', error: String(payload.error) }))
  await consumer.connect()
  await consumer.subscribe({ topic: args.topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => emit({ event: 'record', record: recordOf(partition, message) }),
  })
  process.stdin.resume()
  await new Promise(resolve => process.stdin.on('end', resolve))
  await consumer.disconnect()
  emit({ event: 'closed' })
}

// Two transactional producers with one transactional id: the second fences the first.
async function txn(args) {
  const kafka = client(args)
  const open = async () => {
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      transactionalId: args['transactional-id'],
      idempotent: true,
      maxInFlightRequests: 1,
    })
    await producer.connect()
    return producer
  }
  const zombie = await open()
  const zombieTxn = await zombie.transaction()
  await zombieTxn.send({ topic: args.topic, messages: [{ value: 'from-zombie' }] })

  const successor = await open()
  const committed = await successor.transaction()
  await committed.send({ topic: args.topic, messages: [{ value: 'from-successor' }] })
  await committed.commit()
  const aborted = await successor.transaction()
  await aborted.send({ topic: args.topic, messages: [{ value: 'successor-aborted' }] })
  await aborted.abort()

  const errorOf = async action => {
    try {
      await action()
      return null
    } catch (e) {
      return `${(e.cause || e).type || e.name}: ${e.message}`
    }
  }
  const produceError = await errorOf(() => zombieTxn.send({ topic: args.topic, messages: [{ value: 'late-from-zombie' }] }))
  const commitError = await errorOf(() => zombieTxn.commit())
  await successor.disconnect()
  await zombie.disconnect().catch(() => {})
  emit({ zombie_produce_error: produceError, zombie_commit_error: commitError })
}

// A topic's life through the admin client: create (twice), describe, describe and
// alter its configs, delete (twice).
async function admin(args) {
  const adm = client(args).admin()
  await adm.connect()
  const topic = args.topic
  const out = {}
  // KafkaJS retries retriable errors and then reports the last one as the cause.
  const errorOf = e => `${(e.cause || e).type || e.name}: ${e.message}`
  const configs = async () => {
    const described = await adm.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false })
    const entries = {}
    for (const entry of described.resources[0].configEntries) {
      entries[entry.configName] = { value: entry.configValue, isDefault: entry.isDefault, source: entry.configSource }
    }
    return entries
  }
  out.created = await adm.createTopics({
    topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '120000' }] }],
  })
  out.created_again = await adm.createTopics({ topics: [{ topic, numPartitions: 3 }] })
  const metadata = await adm.fetchTopicMetadata({ topics: [topic] })
  out.described_partitions = metadata.topics[0].partitions.length
  out.configs_before = await configs()
  await adm.alterConfigs({
    validateOnly: false,
    resources: [{
      type: ConfigResourceTypes.TOPIC,
      name: topic,
      configEntries: [{ name: 'retention.ms', value: '60000' }, { name: 'cleanup.policy', value: 'compact' }],
    }],
  })
  out.configs_after = await configs()
  await adm.deleteTopics({ topics: [topic], timeout: 10000 })
  out.listed_after_delete = (await adm.listTopics()).includes(topic)
  out.delete_again_error = await adm.deleteTopics({ topics: [topic], timeout: 10000 }).then(() => null, errorOf)
  await adm.disconnect()
  emit(out)
}

const commands = { produce, consume, member, txn, admin }
const [command, ...rest] = process.argv.slice(2)
if (!commands[command]) {
  process.stderr.write('usage: node kafkajs.js produce|consume|member|txn|admin --brokers HOST:PORT ...\n')
  process.exit(2)
}
commands[command](parseArgs(rest)).then(
  () => process.exit(0),
  e => {
    process.stderr.write(`kafkajs ${command}: ${e.stack || e}\n`)
    process.exit(1)
  }
)
