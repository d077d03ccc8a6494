// gzip lives in GzipCodec (below both StormMetrics and ZooKeeperFiles); StormMetrics' users keep `Gzip`.
@_exported import GzipCodec
