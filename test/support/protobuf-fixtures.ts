/**
 * A Protobuf message with every scalar type, an enum, nested and imported messages,
 * repeated fields, maps, a oneof, an explicit-presence field and every well-known type
 * kice maps; rows in Protobuf's JSON mapping (produce_registry_protobuf.py) and the values
 * kice must decode them to (the in-memory conventions of @kice/iceberg spec/types.ts).
 * File names carry a run tag: the serializer registers each imported file under a
 * subject named after the file.
 */

/** The .proto files: `common_<run>.proto` (another subject) and `every_<run>.proto`. */
export function everyTypeFiles(run: string): Record<string, string> {
  return {
    [`common_${run}.proto`]: `syntax = "proto3";
package kice.common;
message Address {
  string city = 1;
  optional string zip = 2;
}
`,
    [`every_${run}.proto`]: `syntax = "proto3";
package kice.test;
import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/any.proto";
import "common_${run}.proto";

enum Color {
  RED = 0;
  GREEN = 1;
  BLUE = 2;
}

message Everything {
  int32 i32 = 1;
  sint32 s32 = 2;
  sfixed32 sf32 = 3;
  uint32 u32 = 4;
  fixed32 f32 = 5;
  int64 i64 = 6;
  sint64 s64 = 7;
  sfixed64 sf64 = 8;
  uint64 u64 = 9;
  fixed64 f64 = 10;
  float fl = 11;
  double db = 12;
  bool b = 13;
  string s = 14;
  bytes by = 15;
  Color color = 16;
  kice.common.Address addr = 17;
  repeated string tags = 18;
  repeated int64 nums = 19;
  repeated Item items = 20;
  map<string, int64> counts = 21;
  map<int32, Item> by_id = 22;
  oneof choice {
    string text = 23;
    int32 number = 24;
  }
  optional int32 maybe = 25;
  google.protobuf.Timestamp ts = 26;
  google.protobuf.Duration dur = 27;
  google.protobuf.Int64Value w_i64 = 28;
  google.protobuf.UInt64Value w_u64 = 29;
  google.protobuf.Int32Value w_i32 = 30;
  google.protobuf.UInt32Value w_u32 = 31;
  google.protobuf.DoubleValue w_db = 32;
  google.protobuf.FloatValue w_fl = 33;
  google.protobuf.BoolValue w_b = 34;
  google.protobuf.StringValue w_s = 35;
  google.protobuf.BytesValue w_by = 36;
  google.protobuf.Struct st = 37;
  google.protobuf.Value val = 38;
  google.protobuf.ListValue lv = 39;
  google.protobuf.Any any = 40;

  message Item {
    string name = 1;
    int32 qty = 2;
  }
}

message Second {
  string label = 1;
}
`,
  };
}

export const EVERY_TYPE_MESSAGE = 'kice.test.Everything';

export const EVERY_TYPE_ROWS = [
  {
    i32: -7,
    s32: -8,
    sf32: -9,
    u32: 4294967295,
    f32: 4294967295,
    i64: '-9007199254740993',
    s64: '-5',
    sf64: '-9223372036854775808',
    u64: '9223372036854775807',
    f64: '1',
    fl: 1.5,
    db: -0.25,
    b: true,
    s: 'héllo',
    by: 'AP8Q',
    color: 'GREEN',
    addr: { city: 'Oslo', zip: '0150' },
    tags: ['a', 'b'],
    nums: ['1', '-2'],
    items: [{ name: 'x', qty: 2 }, { name: 'y' }],
    counts: { a: '1' },
    byId: { '7': { name: 'z', qty: 1 } },
    text: 'hi',
    maybe: 0,
    ts: '2024-03-01T00:00:00.123456789Z',
    dur: '-1.500001s',
    wI64: '-3',
    wU64: '3',
    wI32: 5,
    wU32: 6,
    wDb: 2.5,
    wFl: 0.5,
    wB: false,
    wS: '',
    wBy: 'AQI=',
    st: { k: [1, 'x', true, null] },
    val: 's',
    lv: [1, { a: null }],
    any: { '@type': 'type.googleapis.com/google.protobuf.Int32Value', value: 5 },
  },
  {},
  { number: 5, color: 7 },
];

const DEFAULTS = {
  i32: 0,
  s32: 0,
  sf32: 0,
  u32: 0n,
  f32: 0n,
  i64: 0n,
  s64: 0n,
  sf64: 0n,
  u64: 0n,
  f64: 0n,
  fl: 0,
  db: 0,
  b: false,
  s: '',
  by: new Uint8Array(0),
  color: 'RED',
  addr: null,
  tags: [],
  nums: [],
  items: [],
  counts: new Map(),
  by_id: new Map(),
  text: null,
  number: null,
  maybe: null,
  ts: null,
  dur: null,
  w_i64: null,
  w_u64: null,
  w_i32: null,
  w_u32: null,
  w_db: null,
  w_fl: null,
  w_b: null,
  w_s: null,
  w_by: null,
  st: null,
  val: null,
  lv: null,
  any: null,
};

export const EVERY_TYPE_EXPECTED = [
  {
    i32: -7,
    s32: -8,
    sf32: -9,
    u32: 4294967295n,
    f32: 4294967295n,
    i64: -9007199254740993n,
    s64: -5n,
    sf64: -9223372036854775808n,
    u64: 9223372036854775807n,
    f64: 1n,
    fl: 1.5,
    db: -0.25,
    b: true,
    s: 'héllo',
    by: Uint8Array.of(0, 0xff, 0x10),
    color: 'GREEN',
    addr: { city: 'Oslo', zip: '0150' },
    tags: ['a', 'b'],
    nums: [1n, -2n],
    items: [
      { name: 'x', qty: 2 },
      { name: 'y', qty: 0 },
    ],
    counts: new Map([['a', 1n]]),
    by_id: new Map([[7, { name: 'z', qty: 1 }]]),
    text: 'hi',
    number: null,
    maybe: 0,
    ts: 1709251200123456n,
    dur: -1500001n,
    w_i64: -3n,
    w_u64: 3n,
    w_i32: 5,
    w_u32: 6n,
    w_db: 2.5,
    w_fl: 0.5,
    w_b: false,
    w_s: '',
    w_by: Uint8Array.of(1, 2),
    st: '{"k":[1,"x",true,null]}',
    val: '"s"',
    lv: '[1,{"a":null}]',
    any: '{"@type":"type.googleapis.com/google.protobuf.Int32Value","value":"CAU="}',
  },
  DEFAULTS,
  { ...DEFAULTS, number: 5, color: '7' },
];

/** The Iceberg column types of Everything, in order. */
export const EVERY_TYPE_COLUMNS = [
  'i32:int',
  's32:int',
  'sf32:int',
  'u32:long',
  'f32:long',
  'i64:long',
  's64:long',
  'sf64:long',
  'u64:long',
  'f64:long',
  'fl:float',
  'db:double',
  'b:boolean',
  's:string',
  'by:binary',
  'color:string',
  'addr:struct',
  'tags:list',
  'nums:list',
  'items:list',
  'counts:map',
  'by_id:map',
  'text:string',
  'number:int',
  'maybe:int',
  'ts:timestamptz',
  'dur:long',
  'w_i64:long',
  'w_u64:long',
  'w_i32:int',
  'w_u32:long',
  'w_db:double',
  'w_fl:float',
  'w_b:boolean',
  'w_s:string',
  'w_by:binary',
  'st:string',
  'val:string',
  'lv:string',
  'any:string',
];
