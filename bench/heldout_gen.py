#!/usr/bin/env python3
"""heldout_gen.py — writes the held-out-style test logs in tests/data/heldout/.

The development set (data/loghub: HDFS, Hadoop, Zookeeper, OpenSSH) is what the miner was tuned
on; these logs guard against tuning to it. Each file imitates the *shape* of the message part of
another well-known log source (Apache, BGL, HPC, Linux syslog, Mac, Proxifier, Spark,
Thunderbird, Windows CBS, Android, HealthApp, OpenStack). Every line is generated from a
template written here (invented, not copied from any data set), with realistic variable values,
and labelled with its template: <Name>.log holds the lines, <Name>.labels one template id per
line. bench/heldout.py scores `autocoder cluster` on them.

The templates deliberately contain the cases issue 12 lists: messages that differ in one
constant word (states, actions, units), optional parts and lists of varying length, dotted
names and digit-holding words that are constants, key=value constants, short messages, a
variable first word, numbers with units — and, to catch over-splitting, variables that are
plain words (user names, host names, program names) with a realistic skew.

Deterministic (fixed seeds): re-running rewrites the same files. Usage: heldout_gen.py [OUTDIR [OUTDIR2]]
(OUTDIR: the first set, default tests/data/heldout; OUTDIR2: the second set, tests/data/heldout2).
"""
import os, random, sys

R = random.Random(12)

def zipf_pick(values, s=1.1):
    w = [1.0 / (i + 1) ** s for i in range(len(values))]
    return R.choices(values, weights=w)[0]

USERS = ["root", "admin", "oracle", "test", "guest", "postgres", "ubuntu", "git", "www",
         "nagios", "deploy", "backup", "alice", "bob", "carol", "dave", "mysql", "ftp", "pi",
         "support", "user", "demo", "jenkins", "hadoop"]
HOSTS = ["node%03d" % i for i in range(1, 60)]
WORDS_APP = ["chrome.exe", "firefox.exe", "outlook.exe", "Skype.exe", "iexplore.exe",
             "svchost.exe", "Dropbox.exe", "putty.exe", "thunderbird.exe", "git-remote-https.exe",
             "steam.exe", "spotify.exe"]
DOMAINS = ["mail.example.org", "cdn.shopfront.net", "api.weather.io", "static.news24.co",
           "login.corp.local", "update.vendor.com", "img.photohub.net", "ws.chat.example.org",
           "proxy.campus.edu", "files.sync.cloud"]
PKGS = ["com.android.systemui", "com.google.android.gms", "com.tencent.mm", "com.whatsapp",
        "com.android.phone", "com.huawei.health", "com.spotify.music", "com.android.settings"]
CLASSES = ["TaskSetManager", "BlockManager", "Executor", "MemoryStore", "DAGScheduler",
           "CoarseGrainedExecutorBackend", "SecurityManager", "Utils"]

def ip():
    return "%d.%d.%d.%d" % (R.choice([10, 172, 192, 61, 218]), R.randint(0, 255),
                            R.randint(0, 255), R.randint(1, 254))

def hexs(n):
    return "".join(R.choice("0123456789abcdef") for _ in range(n))

def uuid():
    return "%s-%s-%s-%s-%s" % (hexs(8), hexs(4), hexs(4), hexs(4), hexs(12))

def num(a=0, b=10000):
    return str(R.randint(a, b))

def dec(a=0.0, b=100.0, p=1):
    return "%.*f" % (p, R.uniform(a, b))

def path():
    return "/" + "/".join(R.choice(["var", "usr", "home", "opt", "data", "srv", "tmp", "log",
                                    "lib", "etc", "cache", "app"]) for _ in range(R.randint(2, 5)))

def kb_mb():
    v = R.uniform(0.1, 900)
    return "%.2f %s" % (v, R.choice(["KB", "MB", "KB", "B"]))

# Each source: list of (template id, weight, generator returning the message).
# Templates ids are unique strings; a generator must never emit text that fits two templates.
SOURCES = {}

def source(name):
    def reg(fn):
        SOURCES[name] = fn()
        return fn
    return reg

@source("Apache")
def _apache():
    return [
        ("A1", 30, lambda: "jk2_init() Found child %s in scoreboard slot %s" % (num(1000, 9000), num(6, 12))),
        ("A2", 25, lambda: "workerEnv.init() ok %s" % "/etc/httpd/conf/workers2.properties"),
        ("A3", 20, lambda: "mod_jk child workerEnv in error state %s" % num(5, 9)),
        ("A4", 6, lambda: "[client %s] Directory index forbidden by rule: %s/" % (ip(), path())),
        ("A5", 4, lambda: "jk2_init() Can't find child %s in scoreboard" % num(1000, 9000)),
        ("A6", 3, lambda: "mod_jk child init %s %s" % (R.choice(["1", "-2"]), num(0, 3))),
        ("A7", 2, lambda: "[client %s] File does not exist: %s" % (ip(), path())),
        ("A8", 1, lambda: "Apache/2.4.%s configured -- resuming normal operations" % num(1, 9)),
        ("A9", 1, lambda: "caught SIGTERM, shutting down"),
        ("A10", 1, lambda: "caught SIGWINCH, shutting down gracefully"),
    ]

@source("BGL")
def _bgl():
    return [
        ("B1", 30, lambda: "instruction cache parity error corrected"),
        ("B2", 10, lambda: "data cache parity error corrected"),
        ("B3", 12, lambda: "generating core.%s" % num(100, 9999)),
        ("B4", 8, lambda: "CE sym %s, at 0x%s, mask 0x%s" % (num(0, 31), hexs(8), hexs(2))),
        ("B5", 6, lambda: "%s TLB error interrupt" % R.choice(["data", "instruction"]) if False else "data TLB error interrupt"),
        ("B6", 3, lambda: "instruction TLB error interrupt"),
        ("B7", 5, lambda: "ciod: failed to read message prefix on control stream (CioStream socket to %s:%s)" % (ip(), num(30000, 40000))),
        ("B8", 4, lambda: "total of %s ddr error(s) detected and corrected" % num(1, 20)),
        ("B9", 3, lambda: "ciod: Error loading %s: invalid or missing program image, No such file or directory" % path()),
        ("B10", 3, lambda: "Lustre mount FAILED : %s : block_id : location" % R.choice(["bglio%d" % i for i in range(10, 40)])),
        ("B11", 2, lambda: "rts: kernel terminated for reason %s" % num(1001, 1004)),
        ("B12", 2, lambda: "machine check interrupt (bit=0x%s): L2 dcache unit data parity error" % hexs(2)),
        ("B13", 2, lambda: "idoproxydb hit ASSERT condition: ASSERT expression=%s Source file=idotransportmgr.cpp Source line=%s Function=int IdoTransportMgr::SendPacket(IdoUdpMgr*, BglCtlPavTrace*)" % (R.choice(["0", "1"]), num(1000, 1100))),
        ("B14", 2, lambda: "NodeCard is not fully functional"),
        ("B15", 2, lambda: "NodeCard temperature sensor chip %s is not accessible" % R.choice(["U01", "U02"])),
    ]

@source("HPC")
def _hpc():
    comps = ["alt0", "alt1", "gige%d" % R.randint(0, 9)]
    return [
        ("H1", 25, lambda: "Component State Change: Component \"%s\" is in the unavailable state (HWID=%s)" % (R.choice(["alt0", "alt1", "scsi0", "eth1"]), num(1000, 5000))),
        ("H2", 12, lambda: "Component State Change: Component \"%s\" is in the running state (HWID=%s)" % (R.choice(["alt0", "alt1", "scsi0", "eth1"]), num(1000, 5000))),
        ("H3", 15, lambda: "Node Status: Node is %s" % "running"),
        ("H4", 6, lambda: "Node Status: Node is down"),
        ("H5", 10, lambda: "PSU status ( %s %s )" % (R.choice(["on", "off"]), R.choice(["on", "off"]))),
        ("H6", 8, lambda: "Temperature (%s) exceeds warning threshold" % num(40, 90)),
        ("H7", 6, lambda: "ambient=%s" % num(18, 40)),
        ("H8", 5, lambda: "Fan speeds ( %s )" % " ".join(num(2000, 4000) for _ in range(R.randint(3, 6)))),
        ("H9", 4, lambda: "ClusterFileSystem: There is no server for ServerFileSystem domain %s" % R.choice(["storage%d" % i for i in range(100, 140)])),
        ("H10", 3, lambda: "boot (command %s) Error: Node is already running" % num(1000, 3000)),
        ("H11", 3, lambda: "boot (command %s) Error: Node is already booted" % num(1000, 3000)),
        ("H12", 2, lambda: "Link error on broadcast tree Interconnect-%s" % R.choice(["0T00:00:%d:%d" % (R.randint(0, 3), R.randint(0, 3))])),
    ]

@source("Linux")
def _linux():
    return [
        ("L1", 25, lambda: "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=%s" % R.choice([ip(), "host-%s.dsl.example.net" % num(1, 250)])),
        ("L2", 12, lambda: "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=%s  user=%s" % (ip(), zipf_pick(USERS))),
        ("L3", 14, lambda: "session opened for user %s by (uid=%s)" % (zipf_pick(USERS), R.choice(["0", "500"]))),
        ("L4", 14, lambda: "session closed for user %s" % zipf_pick(USERS)),
        ("L5", 8, lambda: "check pass; user unknown"),
        ("L6", 5, lambda: "connection from %s (%s) at %s" % (ip(), R.choice(["unknown", "h%s.example.com" % num(1, 99)]), "Sat Jun 18 02:08:%02d 2005" % R.randint(0, 59))),
        ("L7", 4, lambda: "ALERT exited abnormally with [%s]" % num(1, 2)),
        ("L8", 3, lambda: "%s startup succeeded" % R.choice(["syslogd", "klogd", "irqbalance", "portmap", "nfslock", "rpcidmapd", "sshd", "xinetd", "crond", "cups", "httpd", "sendmail"])),
        ("L9", 3, lambda: "Kerberos authentication failed"),
        ("L10", 3, lambda: "couldn't add command channel %s for %s" % (ip(), zipf_pick(USERS))),
        ("L11", 2, lambda: "Memory: %sk/%sk available (%sk kernel code, %sk reserved, %sk data, %sk init, %sk highmem)" % tuple(num(100, 200000) for _ in range(7))),
        ("L12", 2, lambda: "%s: %s" % (R.choice(["sda1", "sdb1", "hda2"]) and "EXT3-fs", R.choice(["mounted filesystem with ordered data mode."]))),
        ("L13", 2, lambda: "EXT3 FS on %s, internal journal" % R.choice(["sda1", "sdb1", "hda2", "dm-0"])),
        ("L14", 2, lambda: "audit(%s.%s:%s): initialized" % (num(1100000000, 1200000000), num(100, 999), num(1, 9))),
    ]

@source("Mac")
def _mac():
    return [
        ("M1", 20, lambda: "ARPT: %s.%s: wl0: wl_update_tcpkeep_seq: Original Seq: %s, Ack: %s, Win size: %s" % (num(600000, 700000), num(100000, 999999), num(10 ** 8, 4 * 10 ** 9), num(10 ** 8, 4 * 10 ** 9), num(1000, 5000))),
        ("M2", 12, lambda: "ARPT: %s.%s: AQM agg params %s maxlen hi/lo 0x%s 0x%s minlen 0x%s adjlen 0x%s" % (num(600000, 700000), num(100000, 999999), num(0, 9), hexs(2), hexs(2), hexs(2), hexs(2))),
        ("M3", 10, lambda: "ARPT: %s.%s: wl0: setup_keepalive: interval %s, retry_interval %s, retry_count %s" % (num(600000, 700000), num(100000, 999999), num(100, 900), num(10, 90), num(1, 20))),
        ("M4", 8, lambda: "Thermal pressure state: %s Memory pressure state: %s" % (R.choice(["0", "1"]), R.choice(["0", "1"]))),
        ("M5", 8, lambda: "en0: BSSID changed to %s" % ":".join(hexs(2) for _ in range(6))),
        ("M6", 6, lambda: "%s: Attempting to %s" % (R.choice(["AirPort", "IO80211Interface"]) and "AirPort", "enable")),
        ("M7", 6, lambda: "AirPort: Link %s on en0" % "Down"),
        ("M8", 6, lambda: "AirPort: Link %s on en0" % "Up"),
        ("M9", 5, lambda: "Bluetooth -- LE is supported - Disable LE meta event"),
        ("M10", 5, lambda: "[%s.%s] ACPI: Wake reason: %s" % (num(1000, 9999), num(100, 999), "XHC1")),
        ("M11", 4, lambda: "PM response took %s ms (%s, powerd)" % (num(100, 3000), num(10, 99))),
        ("M12", 4, lambda: "objc[%s]: Class %s is implemented in both %s and %s. One of the two will be used." % (num(100, 999), R.choice(["AMSupportURLConnectionDelegate", "AMSupportURLSession"]), path(), path())),
        ("M13", 3, lambda: "%s[%s]: Unable to bootstrap_look_up port with name .com.apple.%s" % (R.choice(["com.apple.xpc.launchd", "authorizationhost"]) and "com.apple.xpc.launchd", num(1, 9), R.choice(["metadata.mds", "UIKit.pasteboardd", "coreservices.lsuseractivitymanager"]))),
        ("M14", 3, lambda: "Sandbox: %s(%s) deny(1) file-read-data %s" % (R.choice(["mdworker", "QQ", "Google Chrome He", "mds", "syncdefaultsd", "com.apple.WebKit", "CalendarAgent"]), num(100, 9999), path())),
        ("M15", 2, lambda: "Setting interface %s to %s" % ("en0", "active")),
    ]

@source("Proxifier")
def _proxifier():
    def conn():
        return "%s:%s" % (R.choice(DOMAINS), R.choice(["80", "443", "5228", "8080"]))
    return [
        ("P1", 30, lambda: "%s open through proxy proxy.campus.edu:5070 HTTPS" % conn()),
        ("P2", 30, lambda: "%s close, %s bytes (%s) sent, %s bytes (%s) received, lifetime %s" % (conn(), num(0, 90000), kb_mb(), num(0, 900000), kb_mb(), R.choice(["<1 sec", "00:%02d" % R.randint(1, 59), "%02d:%02d" % (R.randint(1, 30), R.randint(0, 59))]))),
        ("P3", 8, lambda: "%s error : Could not connect through proxy proxy.campus.edu:5070 - Proxy server cannot establish a connection with the target, status code %s" % (conn(), R.choice(["404", "502", "503"]))),
        ("P4", 5, lambda: "%s close, %s bytes sent, %s bytes received, lifetime %s" % (conn(), num(0, 900), num(0, 900), "<1 sec")),
        ("P5", 4, lambda: "%s open through proxy proxy.campus.edu:5070 SOCKS5" % conn()),
        ("P6", 2, lambda: "%s error : A connection request was canceled before the completion." % conn()),
    ]

@source("Spark")
def _spark():
    return [
        ("S1", 20, lambda: "Running task %s.0 in stage %s.0 (TID %s)" % (num(0, 40), num(0, 30), num(0, 2000))),
        ("S2", 20, lambda: "Finished task %s.0 in stage %s.0 (TID %s). %s bytes result sent to driver" % (num(0, 40), num(0, 30), num(0, 2000), num(900, 3000))),
        ("S3", 12, lambda: "Found block rdd_%s_%s locally" % (num(0, 40), num(0, 40))),
        ("S4", 8, lambda: "Block broadcast_%s stored as values in memory (estimated size %s, free %s)" % (num(0, 40), kb_mb(), kb_mb())),
        ("S5", 8, lambda: "Block broadcast_%s_piece0 stored as bytes in memory (estimated size %s, free %s)" % (num(0, 40), kb_mb(), kb_mb())),
        ("S6", 6, lambda: "Started reading broadcast variable %s" % num(0, 40)),
        ("S7", 6, lambda: "Reading broadcast variable %s took %s ms" % (num(0, 40), num(1, 900))),
        ("S8", 5, lambda: "Partition rdd_%s_%s not found, computing it" % (num(0, 40), num(0, 40))),
        ("S9", 4, lambda: "Getting %s non-empty blocks out of %s blocks" % (num(1, 40), num(1, 40))),
        ("S10", 4, lambda: "Started %s remote fetches in %s ms" % (num(0, 9), num(0, 50))),
        ("S11", 3, lambda: "Changing view acls to: %s" % ",".join(R.sample(["yarn", "curi", "spark", "hdfs"], R.randint(1, 3)))),
        ("S12", 3, lambda: "Changing modify acls to: %s" % ",".join(R.sample(["yarn", "curi", "spark", "hdfs"], R.randint(1, 3)))),
        ("S13", 2, lambda: "Registered signal handlers for [%s]" % ", ".join(["TERM", "HUP", "INT"][:R.randint(1, 3)])),
        ("S14", 2, lambda: "MemoryStore started with capacity %s" % kb_mb()),
        ("S15", 2, lambda: "Executor is trying to kill task %s.0 in stage %s.0 (TID %s)" % (num(0, 40), num(0, 30), num(0, 2000))),
    ]

@source("Thunderbird")
def _thunderbird():
    return [
        ("T1", 20, lambda: "session opened for user %s by (uid=0)" % zipf_pick(USERS)),
        ("T2", 20, lambda: "session closed for user %s" % zipf_pick(USERS)),
        ("T3", 10, lambda: "(%s) CMD (run-parts /etc/cron.%s)" % (zipf_pick(USERS[:4]), R.choice(["hourly"]))),
        ("T4", 4, lambda: "(%s) CMD (run-parts /etc/cron.%s)" % (zipf_pick(USERS[:4]), "daily") if False else "(root) CMD (run-parts /etc/cron.daily)"),
        ("T5", 8, lambda: "[ib_sm_sweep.c:%s]: No topology change" % num(1000, 2000)),
        ("T6", 6, lambda: "[ib_sm_sweep.c:%s]: ********************** NEW SWEEP ********************" % num(1000, 2000)),
        ("T7", 6, lambda: "synchronized to %s, stratum %s" % (ip(), num(1, 3))),
        ("T8", 4, lambda: "kernel time sync enabled %s" % R.choice(["0001", "6001"])),
        ("T9", 4, lambda: "Accepted publickey for %s from %s port %s ssh2" % (zipf_pick(USERS), ip(), num(1024, 65000))),
        ("T10", 3, lambda: "Failed password for %s from %s port %s ssh2" % (zipf_pick(USERS), ip(), num(1024, 65000))),
        ("T11", 3, lambda: "%s: %s" % ("dhcpd", R.choice(["DHCPREQUEST for %s from %s via eth1" % (ip(), ":".join(hexs(2) for _ in range(6)))]))),
        ("T12", 3, lambda: "DHCPACK on %s to %s via eth1" % (ip(), ":".join(hexs(2) for _ in range(6)))),
        ("T13", 2, lambda: "Out of memory: Killed process %s (%s)." % (num(1000, 30000), R.choice(["java", "python", "mpirun", "a.out", "matlab"]))),
    ]

@source("Windows")
def _windows():
    def kb():
        return "Package_for_KB%s~31bf3856ad364e35~amd64~~6.1.%s.%s" % (num(2000000, 3200000), num(1, 9), num(0, 9))
    return [
        ("W1", 25, lambda: "Read out cached package applicability for package: %s, ApplicableState: %s, CurrentState:%s" % (kb(), R.choice(["112", "80"]), R.choice(["112", "0"]))),
        ("W2", 15, lambda: "Session: %s_%s initialized by client WindowsUpdateAgent." % (num(30000000, 31000000), num(10 ** 9, 4 * 10 ** 9))),
        ("W3", 8, lambda: "Session: %s_%s initialized by client DriverUpdates." % (num(30000000, 31000000), num(10 ** 9, 4 * 10 ** 9))),
        ("W4", 8, lambda: "Warning: Unrecognized packageExtended attribute."),
        ("W5", 6, lambda: "Expecting attribute name [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]"),
        ("W6", 6, lambda: "Failed to get next element [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]"),
        ("W7", 5, lambda: "Loaded Servicing Stack v6.1.7601.%s with Core: C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.%s_none_%s\\cbscore.dll" % (num(17000, 24000), num(17000, 24000), hexs(16))),
        ("W8", 4, lambda: "SQM: Initializing online with Windows opt-in: False"),
        ("W9", 4, lambda: "SQM: Cleaning up report files older than %s days." % num(5, 20)),
        ("W10", 3, lambda: "SQM: Requesting upload of all unsent reports."),
        ("W11", 3, lambda: "SQM: Failed to start upload with file pattern: C:\\Windows\\servicing\\sqm\\*_std.sqm, flags: 0x%s [HRESULT = 0x80004005 - E_FAIL]" % hexs(1)),
        ("W12", 3, lambda: "Ending TrustedInstaller initialization."),
        ("W13", 3, lambda: "Starting TrustedInstaller initialization."),
        ("W14", 2, lambda: "Ending TrustedInstaller finalization."),
        ("W15", 2, lambda: "Starting TrustedInstaller finalization."),
        ("W16", 2, lambda: "CSI Store %s (0x%s) initialized" % (num(1000000, 9000000), hexs(16))),
    ]

@source("Android")
def _android():
    return [
        ("D1", 20, lambda: "acquire lock=%s, flags=0x1, tag=\"%s\", name=%s, ws=null, uid=%s, pid=%s" % (num(10 ** 8, 3 * 10 ** 8), R.choice(["View Lock", "WindowManager", "RILJ_ACK_WL", "*alarm*"]), R.choice(PKGS), num(1000, 10200), num(500, 30000))),
        ("D2", 20, lambda: "release lock=%s, flags=0x1, tag=\"%s\", name=%s, ws=null, uid=%s, pid=%s" % (num(10 ** 8, 3 * 10 ** 8), R.choice(["View Lock", "WindowManager", "RILJ_ACK_WL", "*alarm*"]), R.choice(PKGS), num(1000, 10200), num(500, 30000))),
        ("D3", 10, lambda: "printFreezingDisplayLogsopening app wtoken = AppWindowToken{%s token=Token{%s ActivityRecord{%s u0 %s/.%s t%s}}}, allDrawn= %s, startingDisplayed =  %s, startingMoved =  false, isRelaunching =  false" % (hexs(7), hexs(7), hexs(7), R.choice(PKGS), R.choice(["MainActivity", "LauncherActivity", "SettingsActivity"]), num(10, 999), R.choice(["false", "true"]), R.choice(["false", "true"]))),
        ("D4", 10, lambda: "Skipping AppWindowToken{%s token=Token{%s ActivityRecord{%s u0 %s/.%s t%s}}} -- going to hide" % (hexs(7), hexs(7), hexs(7), R.choice(PKGS), R.choice(["MainActivity", "LauncherActivity"]), num(10, 999))),
        ("D5", 8, lambda: "setLightsOn(%s)" % R.choice(["true", "false"]) if False else "setLightsOn(true)"),
        ("D6", 4, lambda: "setLightsOn(false)"),
        ("D7", 6, lambda: "handleMessage: what=%s" % R.choice(["1000", "1001", "3"])),
        ("D8", 6, lambda: "Broadcasting intent android.intent.action.SCREEN_OFF"),
        ("D9", 6, lambda: "Broadcasting intent android.intent.action.SCREEN_ON"),
        ("D10", 4, lambda: "updateLightsLocked: state=%s, mode=%s" % ("DOZE", R.choice(["dim", "bright"])) if False else "updateLightsLocked: mode=auto"),
        ("D11", 3, lambda: "updateLightsLocked: mode=manual"),
        ("D12", 4, lambda: "Battery level changed to %s%%, temperature %s.%s C" % (num(1, 100), num(20, 45), num(0, 9))),
        ("D13", 3, lambda: "onStart: status=%s" % "READY"),
        ("D14", 3, lambda: "onStart: status=BUSY"),
    ]

@source("HealthApp")
def _healthapp():
    return [
        ("E1", 20, lambda: "onStandStepChanged %s" % num(1000, 9000)),
        ("E2", 15, lambda: "onExtend:%s %s %s %s" % (num(1514038000000, 1514039000000), num(0, 20), num(0, 5), num(0, 5))),
        ("E3", 15, lambda: "Step_LSC"),
        ("E4", 10, lambda: "getTodayTotalDetailSteps = %s##%s##%s##%s##%s##%s" % (num(1514038000000, 1514039000000), num(1000, 9000), num(100000, 900000), num(1000, 20000), num(1000, 20000), num(10 ** 7, 4 * 10 ** 7))),
        ("E5", 8, lambda: "setTodayTotalDetailSteps=%s##%s##%s##%s##%s##%s" % (num(1514038000000, 1514039000000), num(1000, 9000), num(100000, 900000), num(1000, 20000), num(1000, 20000), num(10 ** 7, 4 * 10 ** 7))),
        ("E6", 8, lambda: "onReceive action: android.intent.action.%s" % "SCREEN_ON"),
        ("E7", 8, lambda: "onReceive action: android.intent.action.%s" % "SCREEN_OFF"),
        ("E8", 6, lambda: "REPORT : %s %s %s %s" % (num(1000, 9000), num(100000, 900000), num(10, 500), num(1, 9))),
        ("E9", 5, lambda: "flush sensor data"),
        ("E10", 4, lambda: "processHandleBroadcastAction action:android.intent.action.%s" % "TIME_TICK"),
        ("E11", 4, lambda: "calculateCaloriesWithCache totalCalories=%s" % num(100000, 200000)),
        ("E12", 3, lambda: "upLoadOneMinuteDataToEngine time=%s" % num(1514038000000, 1514039000000)),
        ("E13", 2, lambda: "uploadStaticsToDB failed message=true"),
        ("E14", 2, lambda: "uploadStaticsToDB failed message=false"),
    ]

@source("OpenStack")
def _openstack():
    def req():
        return "[req-%s %s %s - - -]" % (uuid(), hexs(32), hexs(32))
    return [
        ("O1", 30, lambda: "%s %s \"GET /v2/%s/servers/detail HTTP/1.1\" status: 200 len: %s time: %s" % (req(), ip(), hexs(32), num(1500, 2000), dec(0.1, 0.9, 7))),
        ("O2", 8, lambda: "%s %s \"POST /v2/%s/os-server-external-events HTTP/1.1\" status: 200 len: %s time: %s" % (req(), ip(), hexs(32), num(300, 400), dec(0.05, 0.2, 7))),
        ("O3", 6, lambda: "%s %s \"DELETE /v2/%s/servers/%s HTTP/1.1\" status: 204 len: 203 time: %s" % (req(), ip(), hexs(32), uuid(), dec(0.1, 0.3, 7))),
        ("O4", 8, lambda: "[instance: %s] VM %s (Lifecycle Event)" % (uuid(), "Started")),
        ("O5", 8, lambda: "[instance: %s] VM %s (Lifecycle Event)" % (uuid(), "Stopped")),
        ("O6", 5, lambda: "[instance: %s] VM %s (Lifecycle Event)" % (uuid(), "Paused")),
        ("O7", 5, lambda: "[instance: %s] VM %s (Lifecycle Event)" % (uuid(), "Resumed")),
        ("O8", 6, lambda: "%s [instance: %s] Took %s seconds to spawn the instance on the hypervisor." % (req(), uuid(), dec(10, 30, 2))),
        ("O9", 5, lambda: "%s [instance: %s] Took %s seconds to build instance." % (req(), uuid(), dec(10, 30, 2))),
        ("O10", 4, lambda: "Final resource view: name=cp-%s.example.com phys_ram=64172MB used_ram=%sMB phys_disk=15GB used_disk=%sGB total_vcpus=16 used_vcpus=%s pci_stats=[]" % (num(1, 2), num(512, 8000), num(0, 15), num(0, 16))),
        ("O11", 4, lambda: "%s image %s at (%s): checking" % ("[req-%s - - - - -]" % uuid(), hexs(40), path())),
        ("O12", 3, lambda: "Active base files: %s" % path()),
        ("O13", 3, lambda: "[instance: %s] Terminating instance" % uuid()),
        ("O14", 2, lambda: "Compute_service record updated for cp-%s:cp-%s.example.com" % (num(1, 2), num(1, 2))),
    ]

# ---- second set (tests/data/heldout2) ----
# Written before the miner changes of issue 12's second round, from the *shapes* of further
# real-world software logs (kernel, web server, database, batch scheduler, Windows event log,
# YARN/Spark, Kubernetes kubelet, a mobile app), and not used for tuning: the labels follow the
# source's own format strings (one event per format string, whatever its parameters hold —
# also when a parameter is a state word or a multi-word text), as a human annotator would.
# Generated with its own random stream, so the first set's files stay byte-identical.
NEW_SOURCES = {}

def new_source(name):
    def reg(fn):
        NEW_SOURCES[name] = fn
        return fn
    return reg

def mac():
    return ":".join(hexs(2) for _ in range(6))

PROGS = ["chrome", "python3", "java", "node", "nginx", "postgres", "Xorg", "gnome-shell",
         "firefox", "dockerd", "containerd", "vim", "rsync"]

@new_source("Kernel")
def _kernel():
    devs = ["sda1", "sdb1", "nvme0n1p2", "sda3", "dm-0", "sdc1"]
    nics = ["eth0", "eno1", "enp3s0", "eth1"]
    return [
        ("K1", 12, lambda: "usb %s-%s: new high-speed USB device number %s using xhci_hcd" % (num(1, 4), num(1, 8), num(2, 30))),
        ("K2", 10, lambda: "usb %s-%s: USB disconnect, device number %s" % (num(1, 4), num(1, 8), num(2, 30))),
        ("K3", 6, lambda: "EXT4-fs (%s): mounted filesystem with ordered data mode. Opts: %s" % (R.choice(devs), R.choice(["(null)", "errors=remount-ro", "discard,errors=remount-ro", "noatime,discard"]))),
        ("K4", 4, lambda: "Out of memory: Killed process %s (%s) total-vm:%skB, anon-rss:%skB, file-rss:%skB, shmem-rss:%skB, UID:%s pgtables:%skB oom_score_adj:%s" % (num(300, 60000), R.choice(PROGS), num(10 ** 5, 10 ** 7), num(10 ** 5, 10 ** 7), num(0, 9999), num(0, 999), R.choice(["0", "1000", "33"]), num(100, 9999), R.choice(["0", "200", "-1000"]))),
        ("K5", 8, lambda: "%s[%s]: segfault at %s ip %s sp %s error %s in %s[%s+%s]" % (R.choice(PROGS), num(300, 60000), hexs(R.randint(1, 12)), hexs(16), hexs(16), R.choice(["4", "6", "14"]), R.choice(["libc.so.6", "libglib-2.0.so.0.7400.6", "libxul.so", "libjvm.so"]), hexs(12), hexs(6))),
        ("K6", 6, lambda: "e1000e: %s NIC Link is Up %s Mbps Full Duplex, Flow Control: %s" % (R.choice(nics), R.choice(["1000", "100"]), R.choice(["Rx/Tx", "None"]))),
        ("K7", 5, lambda: "e1000e: %s NIC Link is Down" % R.choice(nics)),
        ("K8", 10, lambda: "audit: type=1400 audit(%s.%s:%s): apparmor=\"DENIED\" operation=\"%s\" profile=\"%s\" name=\"%s\" pid=%s comm=\"%s\" requested_mask=\"%s\" denied_mask=\"%s\" fsuid=%s ouid=%s" % (num(1700000000, 1800000000), num(100, 999), num(100, 9999), R.choice(["open", "mknod", "capable"]), R.choice(["snap.firefox.firefox", "/usr/sbin/cupsd", "docker-default"]), path(), num(300, 60000), R.choice(PROGS), R.choice(["r", "wc", "rw"]), R.choice(["r", "wc", "rw"]), R.choice(["0", "1000"]), R.choice(["0", "1000"]))),
        ("K9", 3, lambda: "TCP: request_sock_TCP: Possible SYN flooding on port %s. Sending cookies.  Check SNMP counters." % R.choice(["80", "443", "8080", "22"])),
        ("K10", 5, lambda: "CPU%s: Core temperature above threshold, cpu clock throttled (total events = %s)" % (num(0, 15), num(1, 90000))),
        ("K11", 5, lambda: "CPU%s: Core temperature/speed normal" % num(0, 15)),
        ("K12", 14, lambda: "[UFW BLOCK] IN=%s OUT= MAC=%s:%s:08:00 SRC=%s DST=%s LEN=%s TOS=0x00 PREC=0x00 TTL=%s ID=%s%s PROTO=TCP SPT=%s DPT=%s WINDOW=%s RES=0x00 SYN URGP=0" % (R.choice(nics), mac(), mac(), ip(), ip(), num(40, 60), num(30, 250), num(0, 65535), R.choice(["", " DF"]), num(1024, 65535), R.choice(["22", "23", "445", "3389", "8080"]), num(1000, 65535))),
        ("K13", 3, lambda: "nf_conntrack: nf_conntrack: table full, dropping packet"),
        ("K14", 4, lambda: "sd %s:0:0:0: [%s] Attached SCSI disk" % (num(0, 6), R.choice(["sda", "sdb", "sdc", "sdd"]))),
        ("K15", 3, lambda: "Bluetooth: hci0: Failed to send firmware data (%s)" % R.choice(["-38", "-110"])),
    ]

@new_source("Nginx")
def _nginx():
    sites = ["shop.example.com", "api.example.com", "www.example.org", "static.example.net"]
    uris = ["/favicon.ico", "/robots.txt", "/wp-login.php", "/api/v2/items", "/.env", "/apple-touch-icon.png", "/static/app.js"]
    uas = ["curl/8.4.0", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
           "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "python-requests/2.31.0",
           "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"]
    def tail(method="GET"):
        return ", client: %s, server: %s, request: \"%s %s HTTP/1.1\"" % (ip(), R.choice(sites), method, R.choice(uris))
    return [
        ("N1", 12, lambda: "%s - %s [%s/Dec/2026:%02d:%02d:%02d +0000] \"%s %s HTTP/1.1\" %s %s \"%s\" \"%s\"" % (ip(), R.choice(["-", "-", "alice", "bob"]), num(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59), R.choice(["GET", "GET", "POST", "HEAD"]), R.choice(uris), R.choice(["200", "304", "404", "301"]), num(0, 90000), R.choice(["-", "https://www.example.org/"]), R.choice(uas))),
        ("N2", 16, lambda: "*%s open() \"/usr/share/nginx/html%s\" failed (2: No such file or directory)%s, host: \"%s\"%s" % (num(1, 999999), R.choice(uris), tail(), R.choice(sites), R.choice(["", ", referrer: \"https://%s/\"" % R.choice(sites)]))),
        ("N3", 8, lambda: "*%s upstream timed out (110: Connection timed out) while reading response header from upstream%s, upstream: \"http://%s:%s%s\", host: \"%s\"" % (num(1, 999999), tail(), ip(), R.choice(["8000", "3000", "9000"]), R.choice(uris), R.choice(sites))),
        ("N4", 8, lambda: "*%s connect() failed (111: Connection refused) while connecting to upstream%s, upstream: \"http://%s:%s%s\", host: \"%s\"" % (num(1, 999999), tail(), ip(), R.choice(["8000", "3000", "9000"]), R.choice(uris), R.choice(sites))),
        ("N5", 4, lambda: "*%s client intended to send too large body: %s bytes%s, host: \"%s\"" % (num(1, 999999), num(10 ** 6, 10 ** 8), tail("POST"), R.choice(sites))),
        ("N6", 2, lambda: "signal process started"),
        ("N7", 2, lambda: "using the \"epoll\" event method"),
        ("N8", 3, lambda: "worker process %s exited on signal %s" % (num(300, 60000), R.choice(["9", "11"]))),
        ("N9", 6, lambda: "start worker process %s" % num(300, 60000)),
        ("N10", 6, lambda: "*%s SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::%s) while SSL handshaking, client: %s, server: 0.0.0.0:443" % (num(1, 999999), R.choice(["wrong version number", "unsupported protocol", "no shared cipher"]), ip())),
        ("N11", 4, lambda: "*%s limiting requests, excess: %s.%s by zone \"%s\"%s, host: \"%s\"" % (num(1, 999999), num(1, 50), num(0, 999), R.choice(["api", "login"]), tail(), R.choice(sites))),
        ("N12", 2, lambda: "gracefully shutting down"),
    ]

@new_source("Postgres")
def _postgres():
    dbs = ["shop", "analytics", "postgres", "billing"]
    tables = ["orders", "users", "events", "invoices", "sessions", "line_items"]
    stmts = [lambda: "SELECT * FROM %s WHERE id = %s" % (R.choice(tables), num(1, 99999)),
             lambda: "UPDATE %s SET status = 'shipped' WHERE id = %s" % (R.choice(tables), num(1, 99999)),
             lambda: "INSERT INTO %s (user_id, created_at) VALUES (%s, now())" % (R.choice(tables), num(1, 9999)),
             lambda: "COMMIT"]
    return [
        ("G1", 14, lambda: "connection received: host=%s port=%s" % (ip(), num(1024, 65535))),
        ("G2", 12, lambda: "connection authorized: user=%s database=%s%s%s" % (zipf_pick(USERS), R.choice(dbs), R.choice(["", " application_name=psql", " application_name=pgAdmin"]), R.choice(["", " SSL enabled (protocol=TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, bits=256)"]))),
        ("G3", 12, lambda: "disconnection: session time: %s:%02d:%02d.%03d user=%s database=%s host=%s port=%s" % (num(0, 3), R.randint(0, 59), R.randint(0, 59), R.randint(0, 999), zipf_pick(USERS), R.choice(dbs), ip(), num(1024, 65535))),
        ("G4", 4, lambda: "checkpoint starting: %s" % R.choice(["time", "wal", "immediate force wait", "shutdown immediate"])),
        ("G5", 4, lambda: "checkpoint complete: wrote %s buffers (%s%%); 0 WAL file(s) added, %s removed, %s recycled; write=%s s, sync=%s s, total=%s s; sync files=%s, longest=%s s, average=%s s; distance=%s kB, estimate=%s kB" % (num(1, 9999), dec(0, 9, 1), num(0, 3), num(0, 3), dec(0, 30, 3), dec(0, 1, 3), dec(0, 30, 3), num(1, 99), dec(0, 1, 3), dec(0, 1, 3), num(1, 99999), num(1, 99999))),
        ("G6", 10, lambda: "duration: %s ms  statement: %s" % (dec(0, 5000, 3), R.choice(stmts)())),
        ("G7", 6, lambda: "relation \"%s\" does not exist at character %s" % (R.choice(["user", "order", "tmp_import", "public.report"]), num(10, 300))),
        ("G8", 6, lambda: "duplicate key value violates unique constraint \"%s_pkey\"" % R.choice(tables)),
        ("G9", 3, lambda: "could not serialize access due to concurrent update"),
        ("G10", 5, lambda: "automatic vacuum of table \"%s.public.%s\": index scans: %s" % (R.choice(dbs), R.choice(tables), num(0, 2))),
        ("G11", 5, lambda: "automatic analyze of table \"%s.public.%s\" system usage: CPU: user: %s s, system: %s s, elapsed: %s s" % (R.choice(dbs), R.choice(tables), dec(0, 2, 2), dec(0, 2, 2), dec(0, 9, 2))),
        ("G12", 6, lambda: "password authentication failed for user \"%s\"" % zipf_pick(USERS)),
        ("G13", 2, lambda: "database system is ready to accept connections"),
        ("G14", 2, lambda: "database system was shut down at 2026-12-%02d %02d:%02d:%02d UTC" % (R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59))),
        ("G15", 3, lambda: "terminating connection due to administrator command"),
    ]

@new_source("Slurm")
def _slurm():
    def nodelist():
        return R.choice(["node%02d" % R.randint(1, 64), "node[%02d-%02d]" % (R.randint(1, 30), R.randint(31, 64)), "node[%02d,%02d-%02d]" % (R.randint(1, 9), R.randint(10, 30), R.randint(31, 64))])
    parts = ["batch", "gpu", "debug", "long"]
    return [
        ("U1", 16, lambda: "_slurm_rpc_submit_batch_job: JobId=%s InitPrio=%s usec=%s" % (num(100000, 999999), num(4000000, 4294901), num(100, 9999))),
        ("U2", 16, lambda: "sched: Allocate JobId=%s NodeList=%s #CPUs=%s Partition=%s" % (num(100000, 999999), nodelist(), R.choice(["1", "4", "16", "32", "64"]), R.choice(parts))),
        ("U3", 10, lambda: "_job_complete: JobId=%s WEXITSTATUS %s" % (num(100000, 999999), R.choice(["0", "0", "1", "2", "137"]))),
        ("U4", 10, lambda: "_job_complete: JobId=%s done" % num(100000, 999999)),
        ("U5", 4, lambda: "Time limit exhausted for JobId=%s" % num(100000, 999999)),
        ("U6", 3, lambda: "error: Nodes %s not responding" % nodelist()),
        ("U7", 3, lambda: "Node %s now responding" % ("node%02d" % R.randint(1, 64))),
        ("U8", 4, lambda: "update_node: node %s reason set to: %s" % ("node%02d" % R.randint(1, 64), R.choice(["maintenance", "bad dimm", "kernel upgrade pending", "gpu fell off the bus"]))),
        ("U9", 4, lambda: "update_node: node %s state set to %s" % ("node%02d" % R.randint(1, 64), R.choice(["DRAINING", "IDLE", "DOWN"]))),
        ("U10", 5, lambda: "_slurm_rpc_kill_job: REQUEST_KILL_JOB JobId=%s uid %s" % (num(100000, 999999), num(1000, 1100))),
        ("U11", 5, lambda: "backfill: Started JobId=%s in %s on %s" % (num(100000, 999999), R.choice(parts), nodelist())),
        ("U12", 4, lambda: "email msg to %s@example.edu: Slurm Job_id=%s Name=%s Ended, Run time %s, %s, ExitCode %s" % (zipf_pick(USERS), num(100000, 999999), R.choice(["train.sh", "bwa_align", "sim_run", "job"]), "%02d:%02d:%02d" % (R.randint(0, 47), R.randint(0, 59), R.randint(0, 59)), R.choice(["COMPLETED", "FAILED", "TIMEOUT"]), R.choice(["0", "1"]))),
        ("U13", 2, lambda: "Resending TERMINATE_JOB request JobId=%s Nodelist=%s" % (num(100000, 999999), nodelist())),
    ]

@new_source("WinEvent")
def _winevent():
    services = ["Windows Update", "Background Intelligent Transfer Service", "WinHTTP Web Proxy Auto-Discovery Service",
                "Windows Modules Installer", "Print Spooler", "Windows Defender Antivirus Network Inspection Service"]
    hosts = ["WS-%s" % h for h in ["ACCT01", "ACCT02", "HR07", "DEV12", "LAB3"]]
    def sid():
        return "S-1-5-21-%s-%s-%s-%s" % (num(10 ** 9, 4 * 10 ** 9), num(10 ** 9, 4 * 10 ** 9), num(10 ** 9, 4 * 10 ** 9), num(1000, 1200))
    updates = ["Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.401.%s.0)" % "%s",
               "2026-11 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB50%s)",
               "Windows Malicious Software Removal Tool x64 - v5.1%s (KB890830)"]
    privs = ["SeSecurityPrivilege", "SeBackupPrivilege", "SeRestorePrivilege", "SeTakeOwnershipPrivilege", "SeDebugPrivilege", "SeSystemEnvironmentPrivilege", "SeLoadDriverPrivilege", "SeImpersonatePrivilege"]
    return [
        ("V1", 18, lambda: "The %s service entered the %s state." % (R.choice(services), R.choice(["running", "stopped"]))),
        ("V2", 4, lambda: "The start type of the %s service was changed from %s to %s." % (R.choice(services), R.choice(["demand start", "auto start"]), R.choice(["disabled", "auto start", "demand start"]))),
        ("V3", 12, lambda: "An account was successfully logged on. Subject: Security ID: S-1-5-18 Account Name: %s$ Account Domain: CORP Logon ID: 0x3E7 Logon Type: %s New Logon: Security ID: %s Account Name: %s" % (R.choice(hosts), R.choice(["2", "3", "5", "10"]), sid(), zipf_pick(USERS))),
        ("V4", 6, lambda: "An account failed to log on. Subject: Security ID: S-1-0-0 Account Name: - Logon Type: %s Account For Which Logon Failed: Account Name: %s Failure Reason: Unknown user name or bad password. Status: 0xC000006D Sub Status: 0xC000006A" % (R.choice(["3", "10"]), zipf_pick(USERS))),
        ("V5", 8, lambda: "Special privileges assigned to new logon. Subject: Security ID: %s Account Name: %s Account Domain: CORP Logon ID: 0x%s Privileges: %s" % (sid(), zipf_pick(USERS), hexs(6).upper(), " ".join(R.sample(privs, R.randint(2, 6))))),
        ("V6", 5, lambda: "The system uptime is %s seconds." % num(100, 9999999)),
        ("V7", 3, lambda: "The Event log service was started."),
        ("V8", 3, lambda: "The Event log service was stopped."),
        ("V9", 6, lambda: "Installation Successful: Windows successfully installed the following update: %s" % (R.choice(updates) % num(100, 999))),
        ("V10", 6, lambda: "The application-specific permission settings do not grant Local Activation permission for the COM Server application with CLSID {%s} and APPID {%s} to the user CORP\\%s SID (%s) from address LocalHost (Using LRPC) running in the application container Unavailable SID (Unavailable)." % (uuid().upper(), uuid().upper(), zipf_pick(USERS), sid())),
        ("V11", 4, lambda: "Faulting application name: %s, version: %s.%s.%s.%s, time stamp: 0x%s Faulting module name: %s, version: 10.0.%s.%s, time stamp: 0x%s Exception code: 0xc0000005 Fault offset: 0x%s Faulting process id: 0x%s" % (R.choice(["explorer.exe", "Teams.exe", "OUTLOOK.EXE", "chrome.exe"]), num(1, 120), num(0, 9), num(0, 9999), num(0, 99), hexs(8), R.choice(["ntdll.dll", "KERNELBASE.dll", "ucrtbase.dll"]), num(19041, 22631), num(1, 3000), hexs(8), hexs(16), hexs(4))),
        ("V12", 2, lambda: "The computer has rebooted from a bugcheck. The bugcheck was: 0x%s (0x%s, 0x%s, 0x%s, 0x%s)." % (hexs(8), hexs(16), hexs(16), hexs(16), hexs(16))),
        ("V13", 4, lambda: "Name resolution for the name %s timed out after none of the configured DNS servers responded." % R.choice(DOMAINS + ["wpad", "time.windows.com"])),
    ]

@new_source("Yarn")
def _yarn():
    app = lambda: "%s_%04d" % ("1701%s" % num(100000000, 999999999), R.randint(1, 60))
    cont = lambda: "container_%s_01_%06d" % (app(), R.randint(1, 40))
    trans = [("NEW", "ALLOCATED"), ("ALLOCATED", "ACQUIRED"), ("ACQUIRED", "RUNNING"), ("RUNNING", "COMPLETED"), ("RUNNING", "KILLED")]
    hosts = ["worker-%d.cluster.local" % i for i in range(1, 9)]
    ops = ["collect", "count", "saveAsTextFile", "reduce", "foreach", "take"]
    files = ["Main", "ETLJob", "Aggregate", "SparkSQL"]
    return [
        ("Y1", 20, lambda: "%s Container Transitioned from %s to %s" % ((cont(),) + R.choice(trans))),
        ("Y2", 8, lambda: "Assigned container %s of capacity <memory:%s, vCores:%s> on host %s:%s, which has %s containers, <memory:%s, vCores:%s> used and <memory:%s, vCores:%s> available after allocation" % (cont(), R.choice(["1024", "2048", "4096"]), num(1, 4), R.choice(hosts), "45454", num(1, 12), num(1024, 60000), num(1, 30), num(1024, 60000), num(1, 30))),
        ("Y3", 6, lambda: "Released container %s of capacity <memory:%s, vCores:%s> on host %s:%s, which currently has %s containers, <memory:%s, vCores:%s> used and <memory:%s, vCores:%s> available, release resources=true" % (cont(), R.choice(["1024", "2048", "4096"]), num(1, 4), R.choice(hosts), "45454", num(0, 12), num(0, 60000), num(0, 30), num(1024, 60000), num(1, 30))),
        ("Y4", 8, lambda: "application_%s State change from %s to %s on event = %s" % ((app(),) + R.choice([("NEW", "NEW_SAVING", "START"), ("NEW_SAVING", "SUBMITTED", "APP_NEW_SAVED"), ("SUBMITTED", "ACCEPTED", "APP_ACCEPTED"), ("ACCEPTED", "RUNNING", "ATTEMPT_REGISTERED"), ("RUNNING", "FINISHED", "ATTEMPT_FINISHED")]))),
        ("Y5", 4, lambda: "Registering app attempt : appattempt_%s_%06d" % (app(), R.randint(1, 3))),
        ("Y6", 4, lambda: "Storing application with id application_%s" % app()),
        ("Y7", 4, lambda: "Added Application Attempt appattempt_%s_%06d to scheduler from user: %s" % (app(), R.randint(1, 3), zipf_pick(USERS))),
        ("Y8", 8, lambda: "Stage %s (%s at %s.scala:%s) finished in %s s" % (num(0, 300), R.choice(ops), R.choice(files), num(20, 400), dec(0, 90, 3))),
        ("Y9", 6, lambda: "Submitting %s missing tasks from ResultStage %s (MapPartitionsRDD[%s] at %s at %s.scala:%s) (first 15 tasks are for partitions Vector(%s))" % (num(1, 200), num(0, 300), num(0, 900), R.choice(ops), R.choice(files), num(20, 400), ", ".join(str(i) for i in range(R.randint(1, 15))))),
        ("Y10", 4, lambda: "Lost task %s.%s in stage %s.0 (TID %s, %s, executor %s): java.io.IOException: %s" % (num(0, 200), num(0, 3), num(0, 300), num(0, 9999), R.choice(hosts), num(1, 40), R.choice(["Connection reset by peer", "No space left on device", "Filesystem closed"]))),
        ("Y11", 8, lambda: "Removed broadcast_%s_piece0 on %s:%s in memory (size: %s, free: %s)" % (num(0, 300), R.choice(hosts), num(30000, 50000), kb_mb(), kb_mb())),
        ("Y12", 4, lambda: "Job %s finished: %s at %s.scala:%s, took %s s" % (num(0, 300), R.choice(ops), R.choice(files), num(20, 400), dec(0, 900, 6))),
    ]

@new_source("Kubelet")
def _kubelet():
    nss = ["default", "kube-system", "payments", "monitoring"]
    apps = ["api", "web", "worker", "redis", "prometheus", "coredns"]
    def pod():
        return "%s/%s-%s-%s" % (R.choice(nss), R.choice(apps), hexs(9)[:R.randint(8, 10)], "".join(R.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5)))
    return [
        ("Q1", 10, lambda: "\"Killing container with a grace period\" pod=\"%s\" podUID=%s containerName=\"%s\" containerID=\"containerd://%s\" gracePeriod=%s" % (pod(), uuid(), R.choice(apps), hexs(64), R.choice(["30", "10", "2"]))),
        ("Q2", 16, lambda: "\"SyncLoop (PLEG): event for pod\" pod=\"%s\" event={\"ID\":\"%s\",\"Type\":\"%s\",\"Data\":\"%s\"}" % (pod(), uuid(), R.choice(["ContainerStarted", "ContainerDied"]), hexs(64))),
        ("Q3", 10, lambda: "\"Probe failed\" probeType=\"%s\" pod=\"%s\" podUID=%s containerName=\"%s\" probeResult=\"failure\" output=\"Get \\\"http://%s:%s/healthz\\\": dial tcp %s:%s: connect: connection refused\"" % (R.choice(["Readiness", "Liveness"]), pod(), uuid(), R.choice(apps), ip(), "8080", ip(), "8080")),
        ("Q4", 8, lambda: "\"Error syncing pod, skipping\" err=\"failed to \\\"StartContainer\\\" for \\\"%s\\\" with CrashLoopBackOff: \\\"back-off %s restarting failed container=%s pod=%s(%s)\\\"\" pod=\"%s\" podUID=%s" % (R.choice(apps), R.choice(["10s", "20s", "40s", "1m20s", "2m40s", "5m0s"]), R.choice(apps), pod().replace("/", "_"), uuid(), pod(), uuid())),
        ("Q5", 8, lambda: "\"RemoveContainer\" containerID=\"%s\"" % hexs(64)),
        ("Q6", 4, lambda: "\"Eviction manager: attempting to reclaim\" resourceName=\"%s\"" % R.choice(["ephemeral-storage", "memory"])),
        ("Q7", 6, lambda: "\"SyncLoop ADD\" source=\"api\" pods=[%s]" % ",".join("\"%s\"" % pod() for _ in range(R.randint(1, 3)))),
        ("Q8", 5, lambda: "\"SyncLoop DELETE\" source=\"api\" pods=[%s]" % ",".join("\"%s\"" % pod() for _ in range(R.randint(1, 3)))),
        ("Q9", 6, lambda: "\"Volume detached for volume \\\"%s\\\" (UniqueName: \\\"kubernetes.io/projected/%s-%s\\\") on node \\\"%s\\\" DevicePath \\\"\\\"\"" % ("kube-api-access-" + "".join(R.choice("bcdfghjklmnpqrstvwxz") for _ in range(5)), uuid(), "kube-api-access", R.choice(HOSTS))),
        ("Q10", 6, lambda: "\"MountVolume.SetUp succeeded for volume \\\"%s\\\" (UniqueName: \\\"kubernetes.io/configmap/%s-%s\\\") pod \\\"%s\\\" (UID: \\\"%s\\\")\"" % (R.choice(["config", "tls-certs", "scripts"]), uuid(), R.choice(["config", "tls-certs", "scripts"]), pod().split("/")[1], uuid())),
        ("Q11", 3, lambda: "\"Image garbage collection succeeded\""),
    ]

@new_source("MobileApp")
def _mobileapp():
    vcs = ["HomeViewController", "SettingsViewController", "CartViewController", "ProfileViewController", "LoginViewController", "SearchViewController", "OrderDetailViewController"]
    buttons = ["Login", "Share", "Settings", "Checkout", "Back", "Logout", "AddToCart", "Search", "Retry"]
    events = ["screen_view", "purchase", "add_to_cart", "login", "search", "share", "app_open"]
    return [
        ("I1", 12, lambda: "[%s] viewDidLoad" % R.choice(vcs)),
        ("I2", 10, lambda: "[%s] viewWillAppear: animated=%s" % (R.choice(vcs), R.choice(["YES", "NO"]))),
        ("I3", 14, lambda: "Network request %s %s finished with status %s in %sms" % (R.choice(["GET", "POST"]), R.choice(["/v1/feed", "/v1/cart", "/v1/user/%s" % num(1, 99999), "/v1/search?q=%s" % R.choice(["shoes", "tv"])]), R.choice(["200", "201", "304", "500"]), num(20, 3000))),
        ("I4", 4, lambda: "Network request failed: The Internet connection appears to be offline. (NSURLErrorDomain -1009)"),
        ("I5", 4, lambda: "Network request failed: The request timed out. (NSURLErrorDomain -1001)"),
        ("I6", 2, lambda: "Push token registered: %s" % hexs(64)),
        ("I7", 10, lambda: "User tapped %s button" % R.choice(buttons)),
        ("I8", 8, lambda: "Cache hit for key %s" % R.choice(["avatar_%s" % num(1, 9999), "feed_page_%s" % num(1, 20), "config"])),
        ("I9", 6, lambda: "Cache miss for key %s" % R.choice(["avatar_%s" % num(1, 9999), "feed_page_%s" % num(1, 20), "config"])),
        ("I10", 3, lambda: "Memory warning received, freeing %s images (%s)" % (num(1, 300), kb_mb())),
        ("I11", 6, lambda: "Sync finished: %s items uploaded, %s downloaded%s" % (num(0, 500), num(0, 500), R.choice(["", ", %s conflicts resolved" % num(1, 9)]))),
        ("I12", 4, lambda: "App entered background"),
        ("I13", 4, lambda: "App entered foreground"),
        ("I14", 8, lambda: "Analytics event \"%s\" queued (%s pending)" % (R.choice(events), num(1, 50))),
    ]

def write_set(out, sources):
    os.makedirs(out, exist_ok=True)
    for name, tmpls in sources.items():
        ids = [t[0] for t in tmpls]
        assert len(set(ids)) == len(ids), name
        weights = [t[1] for t in tmpls]
        lines, labels = [], []
        for _ in range(1000):
            k = R.choices(range(len(tmpls)), weights=weights)[0]
            lines.append(tmpls[k][2]())
            labels.append(tmpls[k][0])
        with open(os.path.join(out, name + ".log"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(out, name + ".labels"), "w") as f:
            f.write("\n".join(labels) + "\n")

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data", "heldout")
    out2 = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "tests", "data", "heldout2")
    write_set(out, SOURCES)
    global R
    R = random.Random(2026)  # the second set's own stream: the first set's files do not change
    write_set(out2, {name: fn() for name, fn in NEW_SOURCES.items()})

if __name__ == "__main__":
    main()
