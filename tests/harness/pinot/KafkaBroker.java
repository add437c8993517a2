// One Kafka broker (ZooKeeper mode) from the Kafka jars on Pinot's classpath.
//
//   java -cp "$CP" KafkaBroker.java server.properties
//
// Pinot 0.11's StartKafka keeps its log directory in /tmp and `kafka.Kafka` fails on the older
// jopt-simple that Pinot's classpath carries, so the harness starts the broker class directly.

import java.io.FileReader;
import java.util.Properties;

import kafka.server.KafkaConfig;
import kafka.server.KafkaServer;
import org.apache.kafka.common.utils.Time;
import scala.Option;

public class KafkaBroker {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    try (FileReader reader = new FileReader(args[0])) {
      props.load(reader);
    }
    KafkaServer server = new KafkaServer(KafkaConfig.fromProps(props), Time.SYSTEM, Option.empty(), false);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown));
    server.startup();
    System.out.println("kafka broker started: " + props.getProperty("listeners"));
    server.awaitShutdown();
  }
}
