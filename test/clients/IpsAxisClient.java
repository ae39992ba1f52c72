// A Java client of the IPS door built the way Axis 1.4 users build theirs: WSDL2Java on the served WSDL, the
// generated stub and beans, HTTP Basic with the user's e-mail address. Prints key=value lines for the test.
import com.scene7.www.IpsApi.IpsApiServiceLocator;
import com.scene7.www.IpsApi.IpsApiSoapBindingStub;
import com.scene7.www.IpsApi.xsd.AuthorizationFault;
import com.scene7.www.IpsApi.xsd._2014_04_03.*;

public class IpsAxisClient {
    static void print(String key, Object value) {
        System.out.println(key + "=" + value);
    }

    public static void main(String[] args) throws Exception {
        String url = args[0], email = args[1], password = args[2], companyName = args[3], asset = args[4];
        IpsApiSoapBindingStub ips =
            (IpsApiSoapBindingStub) new IpsApiServiceLocator().getIpsApiSoapPort(new java.net.URL(url));
        ips.setUsername(email);
        ips.setPassword(password);

        GetCompanyInfoParam info = new GetCompanyInfoParam();
        info.setCompanyName(companyName);
        Company company = ips.getCompanyInfo(info).getCompanyInfo();
        String handle = company.getCompanyHandle();
        print("company", handle + "|" + company.getName() + "|" + company.getRootPath());
        for (CompanyMembership membership : ips.getCompanyMembership(new GetCompanyMembershipParam()).getMembershipArray())
            print("membership", membership.getCompany().getCompanyHandle() + "|" + membership.getRole() + "|" + membership.isIsActive());

        DeleteAssetsParam delete = new DeleteAssetsParam();
        delete.setCompanyHandle(handle);
        delete.setAssetHandleArray(new String[] {asset});
        print("deleteAssets", ips.deleteAssets(delete).getSuccessCount());

        SearchAssetsParam search = new SearchAssetsParam();
        search.setCompanyHandle(handle);
        search.setTrashState("InTrash");
        SearchAssetsReturn found = ips.searchAssets(search);
        print("inTrash.total", found.getTotalRows());
        for (Asset item : found.getAssetArray())
            print("inTrash", item.getAssetHandle() + "|" + item.getName() + "|" + item.getTrashState() + "|" + item.getFolder());

        RestoreAssetsFromTrashParam restore = new RestoreAssetsFromTrashParam();
        restore.setCompanyHandle(handle);
        restore.setAssetHandleArray(new String[] {asset, "a|0"});
        RestoreAssetsFromTrashReturn restored = ips.restoreAssetsFromTrash(restore);
        print("restore", restored.getSuccessCount() + "|" + restored.getErrorCount() + "|" + restored.getErrorDetailArray()[0].getCode());

        GetAssetsParam get = new GetAssetsParam();
        get.setCompanyHandle(handle);
        get.setAssetHandleArray(new String[] {asset});
        print("after", ips.getAssets(get).getAssetArray()[0].getTrashState());

        SearchAssetsParam elsewhere = new SearchAssetsParam();
        elsewhere.setCompanyHandle("c|999999");
        try {
            ips.searchAssets(elsewhere);
            print("fault", "none");
        } catch (AuthorizationFault fault) {
            print("fault", "authorizationFault|" + fault.getCode());
        }
    }
}
