// Steady-rate event generator for the local Pinot cluster's REALTIME table.
//
//   java -cp "$CP" Generator.java BOOTSTRAP TOPIC PARTITIONS RATE_PER_SECOND COUNT_FILE
//
// Creates TOPIC with PARTITIONS partitions if it is missing, then sends {"ts","uuid","count"} JSON
// events at RATE_PER_SECOND. COUNT_FILE always holds the number of events Kafka has acknowledged
// (rewritten atomically several times a second and once more on SIGTERM; a restart continues from
// it), so a test can compare it with count(*) and prove no row was lost. Runs as a single-file source program with the Kafka client
// that is already on Pinot's classpath: no build step and no extra dependency.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.admin.AdminClient;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;

public class Generator {
  private static final AtomicLong ACKED = new AtomicLong();
  private static final AtomicLong FAILED = new AtomicLong();
  private static volatile boolean running = true;

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int partitions = Integer.parseInt(args[2]);
    double rate = Double.parseDouble(args[3]);
    Path countFile = Path.of(args[4]);

    // a restarted generator continues the count of the one before it
    if (Files.exists(countFile)) {
      Matcher m = Pattern.compile("\"acked\": (\\d+)").matcher(Files.readString(countFile));
      if (m.find()) {
        ACKED.set(Long.parseLong(m.group(1)));
      }
    }
    createTopic(bootstrap, topic, partitions);

    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    // acks=all + idempotence: an acknowledged event is in the log exactly once
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    KafkaProducer<String, String> producer = new KafkaProducer<>(props);

    Thread main = Thread.currentThread();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      running = false;
      try {
        main.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));

    long intervalNanos = (long) (1_000_000_000L / rate);
    long next = System.nanoTime();
    long lastWrite = 0;
    long sent = 0;
    while (running) {
      String uuid = UUID.randomUUID().toString();
      String json = String.format("{\"ts\":%d,\"uuid\":\"%s\",\"count\":%d}", System.currentTimeMillis(), uuid, sent % 100);
      producer.send(new ProducerRecord<>(topic, uuid, json), (metadata, error) -> {
        if (error == null) {
          ACKED.incrementAndGet();
        } else {
          FAILED.incrementAndGet();
          System.err.println("send failed: " + error);
        }
      });
      sent++;
      if (System.nanoTime() - lastWrite > 200_000_000L) {
        writeCount(countFile);
        lastWrite = System.nanoTime();
      }
      next += intervalNanos;
      long sleep = next - System.nanoTime();
      if (sleep > 0) {
        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
      }
    }
    producer.flush();
    producer.close();
    writeCount(countFile);
    System.out.println("generator stopped: sent=" + sent + " acked=" + ACKED.get() + " failed=" + FAILED.get());
  }

  private static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    try (AdminClient admin = AdminClient.create(props)) {
      admin.createTopics(Collections.singleton(new NewTopic(topic, partitions, (short) 1))).all().get();
      System.out.println("created topic " + topic + " with " + partitions + " partitions");
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw e;
      }
      System.out.println("topic " + topic + " exists");
    }
  }

  private static void writeCount(Path countFile) throws Exception {
    Path tmp = countFile.resolveSibling(countFile.getFileName() + ".tmp");
    String body = String.format("{\"acked\": %d, \"failed\": %d}%n", ACKED.get(), FAILED.get());
    Files.writeString(tmp, body, StandardCharsets.UTF_8);
    Files.move(tmp, countFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }
}
